import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { loadTemplates } from "../../../lambdas/adapters/local/template-loader.js";
import { formatPlan } from "../../../lambdas/core/mitigation/plan.js";
import { buildPostmortem } from "../../../lambdas/core/postmortem/build-postmortem.js";
import {
  type PostmortemKnowledge,
  parsePostmortemKnowledge,
} from "../../../lambdas/core/postmortem/knowledge.js";
import { renderPostmortem } from "../../../lambdas/core/postmortem/render-postmortem.js";
import type { Runbook } from "../../../lambdas/core/runbook/schema.js";
import { loadRunbookDoc } from "../../../lambdas/workflows/runbook-files.js";
import { REPO } from "../../support/cli.js";
import { buildEvidence, data } from "../../support/evidence-factory.js";
import { healthOutput, runOnFakeHost } from "../../support/fake-workflow.js";

/**
 * Proof that a failure class is runbook data: `stalled-readers` exists only in YAML (a runbook
 * override and its postmortem knowledge, test/fixtures/runbooks/), reuses existing metrics, and gets a
 * diagnosis, a plan, a run and a full postmortem with its own follow-ups. No TypeScript names it.
 */
const FIXTURES = `${REPO}/test/fixtures/runbooks`;
let doc: Runbook;
let knowledge: PostmortemKnowledge;

beforeAll(async () => {
  doc = await loadRunbookDoc(`${FIXTURES}/stalled-readers.yaml`);
  // The class's knowledge, added to the shipped file the way a new class is added to it.
  const shipped = parse(readFileSync(`${REPO}/runbooks/postmortem/knowledge.yaml`, "utf8"));
  const added = parse(readFileSync(`${FIXTURES}/stalled-readers.knowledge.yaml`, "utf8"));
  const merged = {
    ...shipped,
    actionItems: { ...shipped.actionItems, ...added.actionItems },
    classes: { ...shipped.classes, ...added.classes },
  };
  knowledge = parsePostmortemKnowledge(stringify(merged), "merged knowledge");
});

/** The API times out with 500 connections whose clients stopped reading; everything else looks fine. */
const stalled = () =>
  buildEvidence("healthy", (e) => {
    data(e, "sockets").sendQueueNonEmpty = 500;
    e.health = { ...e.health, outcome: "timeout", httpStatus: null };
  });

describe("a failure class defined only in YAML", () => {
  it("is diagnosed, planned, applied and written up with its own follow-ups", async () => {
    const { record, requests } = await runOnFakeHost({
      doc,
      probe: (n) => (n === 0 ? stalled() : buildEvidence("healthy")),
      answers: {
        "restart-service": () => ({
          stdout: "result=ok\noldPid=4242\nnewPid=5151\nstopSignal=TERM\ndownSeconds=4\n",
        }),
        "check-health": (_r, n) => ({ stdout: n === 0 ? healthOutput("timeout") : healthOutput("ok") }),
      },
      run: { restart: { service: "api.service", command: null } },
    });
    expect(record.diagnosis?.rootCause).toMatchObject({ id: "stalled-readers", confidence: 0.85 });
    expect(record.diagnosis?.rootCause.summary).toMatch(
      /^500 connections on port 8080 have bytes queued that their clients do not read/,
    );
    expect(record.plan && formatPlan(record.plan)).toMatch(
      /Mitigation plan for stalled-readers \(mode auto\):\n {2}1\. restart-service \[changes host\]: Restart the service: systemctl restart api\.service/,
    );
    expect(requests.find((r) => r.name === "restart-service")?.parameters.graceSeconds).toBe("5");
    expect(record.status).toBe("recovered");

    const model = buildPostmortem(record, { knowledge });
    expect(model.title).toContain(
      "Clients that stopped reading held the connections until the API stopped answering",
    );
    expect(model.actionItems.map((a) => a.id)).toEqual(
      expect.arrayContaining(["write-timeouts", "alarm-on-fd-usage"]),
    );
    const rendered = renderPostmortem(model, await loadTemplates(`${REPO}/runbooks/templates`));
    expect(rendered.markdown).toContain("Bound every write to a client with a timeout");
    expect(rendered.markdown).toContain("session.getAsyncRemote().setSendTimeout(10_000);");
    expect(rendered.markdown).toContain("Raising the load balancer's idle timeout");
    expect(rendered.markdown).not.toMatch(/\{[a-zA-Z.]+\}/);
  });
});
