import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { loadTemplates } from "../../../lambdas/adapters/local/template-loader.js";
import { formatPlan } from "../../../lambdas/core/mitigation/plan.js";
import { buildPostmortem } from "../../../lambdas/core/postmortem/build-postmortem.js";
import { parsePostmortemKnowledge } from "../../../lambdas/core/postmortem/knowledge.js";
import { renderPostmortem } from "../../../lambdas/core/postmortem/render-postmortem.js";
import type { Runbook } from "../../../lambdas/core/runbook/schema.js";
import { loadRunbookDoc } from "../../../lambdas/workflows/runbook-files.js";
import { REPO } from "../../support/cli.js";
import { buildEvidence, type Scenario } from "../../support/evidence-factory.js";
import { healthOutput, runOnFakeHost } from "../../support/fake-workflow.js";

/**
 * The socket classes through the whole runbook on a fake host (the real steps, planner, recorder and
 * postmortem; scripts answered from a table): their ladder is restart → escalate, so in auto mode the
 * restart runs and nothing is killed in place; without a restart method the run escalates and changes
 * nothing; the postmortem carries the class's knowledge with every figure filled in.
 */
let doc: Runbook;
beforeAll(async () => {
  doc = await loadRunbookDoc("api-unreachable");
});
const knowledge = parsePostmortemKnowledge(
  readFileSync(`${REPO}/runbooks/postmortem/knowledge.yaml`, "utf8"),
  "runbooks/postmortem/knowledge.yaml",
);

const CLASSES: Array<{ id: string; scenario: Scenario; title: string; item: string }> = [
  {
    id: "close-wait-leak",
    scenario: "close-wait-outbound",
    title: "Connections left in CLOSE-WAIT until the API stopped answering",
    item: "Close every upstream response and socket on every path",
  },
  {
    id: "listen-backlog-overflow",
    scenario: "listen-backlog",
    title: "The service stopped accepting connections and its accept queue overflowed",
    item: "Find why the acceptor stopped accepting",
  },
];

const restartOk = () => ({ stdout: "result=ok\noldPid=4242\nnewPid=5151\nstopSignal=TERM\ndownSeconds=4\n" });

describe.each(CLASSES)("$id through the runbook", ({ id, scenario, title, item }) => {
  it("auto with a restart method: restart (never an in-place kill), recovered, and a postmortem with its knowledge", async () => {
    const { record, requests } = await runOnFakeHost({
      doc,
      probe: (n) => (n === 0 ? buildEvidence(scenario) : buildEvidence("healthy")),
      answers: {
        "restart-service": restartOk,
        "check-health": (_r, n) => ({ stdout: n === 0 ? healthOutput("timeout") : healthOutput("ok") }),
      },
      run: { restart: { service: "api.service", command: null } },
    });
    expect(record.diagnosis?.rootCause.id).toBe(id);
    expect(record.plan && formatPlan(record.plan)).toMatch(
      new RegExp(`Mitigation plan for ${id} \\(mode auto\\):\\n {2}1\\. restart-service \\[changes host\\]`),
    );
    expect(record.plan?.ladder.map((s) => s.action)).toEqual(["restart-service", "escalate"]);
    expect(requests.map((r) => r.name)).not.toContain("kill-idle-connections");
    expect(requests.filter((r) => r.name === "restart-service")).toHaveLength(1);
    expect(record.status).toBe("recovered");

    const model = buildPostmortem(record, { knowledge });
    expect(model.title).toContain(title);
    const rendered = renderPostmortem(model, await loadTemplates(`${REPO}/runbooks/templates`));
    expect(rendered.markdown).toContain(item);
    expect(rendered.markdown.match(/.{0,80}\{[a-zA-Z.]+\}.{0,40}/)?.[0]).toBeUndefined();
  });

  it("auto without a restart method: escalates and changes nothing", async () => {
    const { record, requests } = await runOnFakeHost({
      doc,
      probe: () => buildEvidence(scenario),
      answers: { "check-health": () => ({ stdout: healthOutput("timeout") }) },
    });
    expect(record.diagnosis?.rootCause.id).toBe(id);
    expect(record.status).toBe("escalated");
    expect(requests.map((r) => r.name).filter((n) => n !== "probe" && n !== "check-health")).toEqual([]);
  });
});
