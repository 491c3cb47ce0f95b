import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { checkRunbookData } from "../../../lambdas/core/runbook/load.js";
import type { Runbook } from "../../../lambdas/core/runbook/schema.js";
import { loadRunbookDoc } from "../../../lambdas/workflows/runbook-files.js";
import { REPO } from "../../support/cli.js";
import { buildEvidence, data } from "../../support/evidence-factory.js";
import { healthOutput, runOnFakeHost } from "../../support/fake-workflow.js";

/**
 * disk-full on a fake host: the shipped ladder changes nothing (it escalates); the opt-in override of
 * docs/examples puts delete-rotated-logs first, which gets the diagnosed process and the log's folder.
 */
const OPT_IN = "docs/examples/disk-full-delete-rotated-logs.yaml";

async function withOptIn(): Promise<Runbook> {
  const base = await loadRunbookDoc("api-unreachable");
  const override = parseYaml(readFileSync(`${REPO}/${OPT_IN}`, "utf8")) as {
    mitigation: { ladders: Record<string, unknown> };
  };
  const checked = checkRunbookData({
    ...base,
    mitigation: {
      ...base.mitigation,
      ladders: { ...base.mitigation.ladders, ...override.mitigation.ladders },
    },
  });
  if (!checked.ok) throw new Error(JSON.stringify(checked.error.issues));
  return checked.value;
}

const FREED =
  "dir=/var/log/app\nusedPercentBefore=100\nskippedOpen=2\nskippedOwner=0\ncandidates=14\nkeptNewest=2\ndeleted=12\nfreedKb=12288\nusedPercentAfter=25\nresult=ok\n";

describe("disk-full ladders", () => {
  it("the shipped ladder runs nothing destructive: it escalates with the top space users in the diagnosis", async () => {
    const doc = await loadRunbookDoc("api-unreachable");
    const { record, requests } = await runOnFakeHost({
      doc,
      probe: () => buildEvidence("disk-full"),
      answers: { "check-health": () => ({ stdout: healthOutput("timeout") }) },
    });
    expect(record.diagnosis?.rootCause.id).toBe("disk-full");
    expect(record.diagnosis?.rootCause.summary).toContain(
      "Top space users: /var/log/app/requests.log.7 2 MB.",
    );
    expect(record.plan?.ladder.map((a) => a.action)).toEqual(["escalate"]);
    expect(requests.map((r) => r.name)).not.toContain("delete-rotated-logs");
    expect(record.status).toBe("escalated");
  });

  it("opted in: delete-rotated-logs gets the diagnosed PID, its start time and the log's folder; health comes back", async () => {
    const { record, requests } = await runOnFakeHost({
      doc: await withOptIn(),
      probe: (n) => buildEvidence(n === 0 ? "disk-full" : "healthy"),
      answers: {
        "delete-rotated-logs": () => ({ stdout: FREED }),
        "check-health": (_r, n) => ({ stdout: n === 0 ? healthOutput("timeout") : healthOutput("ok") }),
      },
    });
    expect(record.plan?.ladder[0]?.description).toContain(
      "in /var/log/app, oldest first, keeping the newest 2",
    );
    expect(requests.find((r) => r.name === "delete-rotated-logs")?.parameters).toEqual({
      pid: "4242",
      startTicks: "1234567",
      logDir: "/var/log/app",
      keepNewest: "2",
      minUsedPercent: "90",
      maxFiles: "5000",
      dryRun: "false",
    });
    expect(record.actions[0]).toMatchObject({
      action: "delete-rotated-logs",
      status: "applied",
      reason: "deleted 12 rotated logs in /var/log/app (12288 kB freed; filesystem 100% → 25% used)",
    });
    expect(record.status).toBe("recovered");
  });

  it("opted in, but no log was found: the rung is blocked, nothing is deleted", async () => {
    const noLog = () =>
      buildEvidence("disk-full", (e) => {
        e.logs = { status: "unavailable", reason: "no log path given" };
        data(e, "disk").filesystems = data(e, "disk").filesystems.filter((f) => f.role !== "log");
        const tmp = data(e, "disk").filesystems.find((f) => f.role === "tmp");
        if (tmp) Object.assign(tmp, { usedPercent: 100, availKb: 0, mount: "/tmp" });
      });
    const { record, requests } = await runOnFakeHost({
      doc: await withOptIn(),
      probe: noLog,
      answers: { "check-health": () => ({ stdout: healthOutput("timeout") }) },
    });
    expect(record.diagnosis?.rootCause.id).toBe("disk-full");
    expect(record.plan?.ladder[0]?.blockedReason).toMatch(/no log was read/);
    expect(requests.map((r) => r.name)).not.toContain("delete-rotated-logs");
  });
});
