import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FolderArtifactStore } from "../../../lambdas/adapters/local/artifact-store.js";
import { FileIncidentStore } from "../../../lambdas/adapters/local/incident-store.js";
import type { CommandRequest, CommandResult } from "../../../lambdas/ports/index.js";
import { runRunbook } from "../../../lambdas/workflows/run-runbook.js";
import { loadRunbookDoc, runbookView } from "../../../lambdas/workflows/runbook-files.js";
import { buildEvidence } from "../../support/evidence-factory.js";
import { FakeClock } from "../adapters/fake-clock.js";

/**
 * The workflow's side of "the process acted on is the process diagnosed": the kill script gets the
 * evidence's PID and start time, and when it refuses on the host (exit 3, result=refused-target) the
 * ladder stops there, nothing else runs, and the record escalates saying why.
 */
const dir = mkdtempSync(join(tmpdir(), "refused-target-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ok = (stdout: string, exitCode = 0): CommandResult => ({
  status: exitCode === 0 ? "Success" : "Failed",
  exitCode,
  stdout,
  stderr: "",
  stdoutTruncated: false,
  durationMs: 5,
  outputUri: null,
  detail: null,
});

describe("a kill refused on the host", () => {
  it("stops the ladder (no restart), escalates, and the record says the host refused the target", async () => {
    const evidence = buildEvidence("ws-leak-at-limit");
    const calls: CommandRequest[] = [];
    const notified: string[] = [];
    const refusal =
      "PID 4242 now belongs to another process (start time 99, expected 1234567): the diagnosis does not describe it, no socket is destroyed";
    const record = await runRunbook(
      {
        runner: {
          run: async (_target, req) => {
            calls.push(req);
            if (req.name === "probe") return ok("#runbook-probe format=1 version=test\n");
            if (req.name === "check-health")
              return ok("attempt=1 outcome=timeout status=000 latencyMs=3000\nrecovered=false\n");
            if (req.name === "kill-idle-connections")
              return ok(`result=refused-target\nerror=${refusal}\n`, 3);
            return ok("result=ok\n");
          },
        },
        artifacts: new FolderArtifactStore(dir),
        incidents: new FileIncidentStore(dir),
        clock: new FakeClock(),
        runbook: runbookView(await loadRunbookDoc("api-unreachable")),
        scripts: null,
        log: { info: () => undefined, warn: () => undefined },
        parseEvidence: () => ({ ok: true, value: evidence }),
        rawDirFor: () => "",
        approve: async () => true,
        notify: async (subject) => {
          notified.push(subject);
          return ["test"];
        },
      },
      {
        target: "local",
        port: 8080,
        pid: null,
        healthPath: "/health",
        logPath: null,
        // A restart could run: only the refusal stops the ladder before it.
        restart: { service: null, command: "true" },
        mode: "auto",
        trigger: {
          kind: "manual",
          at: "2024-05-02T17:05:00.000Z",
          alarmName: null,
          alarmReason: null,
          source: "test",
        },
      },
    );

    expect(record.diagnosis?.rootCause.id).toBe("websocket-session-leak");
    const kills = calls.filter((c) => c.name === "kill-idle-connections");
    expect(kills).toHaveLength(1);
    // The evidence's process, for the script to re-check on the host.
    expect(kills[0]?.parameters).toMatchObject({ pid: "4242", startTicks: "1234567" });
    expect(calls.map((c) => c.name)).not.toContain("restart-service");

    const kill = record.actions.find((a) => a.action === "kill-idle-connections");
    expect(kill).toMatchObject({ status: "skipped", details: { refusedTarget: true } });
    expect(kill?.reason).toBe(`the host refused the target: ${refusal}`);
    expect(record.actions.map((a) => a.action)).not.toContain("restart-service");

    expect(record.status).toBe("escalated");
    expect(record.statusReason).toContain(refusal);
    expect(record.escalation?.notified).toEqual(["test"]);
    expect(notified).toHaveLength(1);
  });
});
