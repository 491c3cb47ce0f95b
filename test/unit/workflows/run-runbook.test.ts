import { beforeAll, describe, expect, it } from "vitest";
import { buildPostmortem } from "../../../lambdas/core/postmortem/build-postmortem.js";
import type { Runbook } from "../../../lambdas/core/runbook/schema.js";
import { finalStatus } from "../../../lambdas/workflows/run-runbook.js";
import { loadRunbookDoc } from "../../../lambdas/workflows/runbook-files.js";
import { buildEvidence } from "../../support/evidence-factory.js";
import { healthOutput, runOnFakeHost } from "../../support/fake-workflow.js";
import { brakedRecord } from "../../support/record-factory.js";
import { KNOWLEDGE } from "../postmortem/helpers.js";

/**
 * The executor driven by the action registry, on a fake host (the runner answers from a table): which
 * scripts run with which input, and how their output becomes the record. No sockets, no JVM.
 */
let doc: Runbook;
beforeAll(async () => {
  doc = await loadRunbookDoc("api-unreachable");
});

describe("runRunbook on a fake host", () => {
  it("kill-idle-connections: the module's script, every parameter from the caller, its summary in the record", async () => {
    const { record, requests } = await runOnFakeHost({
      doc,
      probe: (n) => buildEvidence(n === 0 ? "ws-leak-at-limit" : "healthy"),
      answers: {
        "kill-idle-connections": () => ({
          stdout: "result=ok\nkilled=990\nestablishedBefore=1000\nestablishedAfter=10\n",
        }),
        // One check before the first change (still down), then healthy.
        "check-health": (_r, n) => ({ stdout: n === 0 ? healthOutput("timeout") : healthOutput("ok") }),
      },
    });
    expect(record.diagnosis?.rootCause.id).toBe("websocket-session-leak");
    const kill = requests.find((r) => r.name === "kill-idle-connections");
    expect(kill).toMatchObject({
      scriptPath: "actions/kill-idle-connections.sh",
      parameters: { port: "8080", minIdleMs: "120000", maxConnections: "50000", dryRun: "false", limit: "" },
      timeoutMs: 120_000,
    });
    expect(kill?.script).toContain("runbook-autopilot action: kill-idle-connections");
    // check-health gets every value too, the per-request time-out included.
    expect(requests.find((r) => r.name === "check-health")?.parameters).toEqual({
      port: "8080",
      healthPath: "/health",
      attempts: "1",
      intervalSeconds: "1",
      requestTimeoutSeconds: "3",
    });
    expect(record.actions[0]).toMatchObject({
      action: "kill-idle-connections",
      status: "applied",
      reason: "destroyed 990 idle sockets (ESTABLISHED 1000 → 10)",
      details: { killed: "990", command: { status: "Success" } },
      healthyAfter: true,
    });
    expect(record.status).toBe("recovered");
  });

  it("a relief batch first when the histogram is missing, then the evidence again, then the rest", async () => {
    const { record, requests } = await runOnFakeHost({
      doc,
      probe: (n) =>
        buildEvidence(n === 0 ? "ws-leak-attach-failed" : n === 1 ? "ws-leak-at-limit" : "healthy"),
      answers: {
        "kill-idle-connections": (r) => ({
          stdout:
            r.parameters.limit === "133"
              ? "result=ok\nkilled=133\nestablishedBefore=1000\nestablishedAfter=867\n"
              : "result=ok\nkilled=857\nestablishedBefore=867\nestablishedAfter=10\n",
        }),
        "check-health": (_r, n) => ({ stdout: n === 0 ? healthOutput("timeout") : healthOutput("ok") }),
      },
    });
    expect(requests.map((r) => r.name)).toEqual([
      "probe",
      "check-health",
      "kill-idle-connections",
      "probe",
      "kill-idle-connections",
      "check-health",
      "check-health",
      "probe",
    ]);
    // The relief batch: 32, plus the 101 connections the evidence saw waiting in the accept queue.
    const kills = requests.filter((r) => r.name === "kill-idle-connections");
    expect(kills.map((r) => r.parameters.limit)).toEqual(["133", ""]);
    expect(record.evidence.afterRelief).not.toBeNull();
    expect(record.actions[0]).toMatchObject({
      status: "applied",
      reason: "destroyed 133 in a relief batch, then 857 idle sockets (ESTABLISHED 1000 → 10)",
      details: { relief: { killed: "133" }, killed: "857" },
    });
    // The first change on the host is the relief batch: sent after the rung began, before the evidence was
    // collected again (not the end of the rung, which is what "mitigated" meant before).
    const kill = record.actions[0];
    const again = record.steps.find((s) => s.id === "collect-after-relief");
    const first = Date.parse(kill?.firstChangeAt ?? "");
    expect(first).toBeGreaterThanOrEqual(Date.parse(kill?.startedAt ?? ""));
    expect(first).toBeLessThanOrEqual(Date.parse(again?.startedAt ?? ""));
  });

  it("restart-service: refuses a process the evidence does not identify, and a script's refusal is a skip", async () => {
    const restartFirst = {
      ...doc,
      mitigation: {
        ...doc.mitigation,
        ladders: {
          ...doc.mitigation.ladders,
          "websocket-session-leak": [{ action: "restart-service", params: {} }],
        },
      },
    };
    const { record, requests } = await runOnFakeHost({
      doc: restartFirst,
      probe: () => buildEvidence("ws-leak-at-limit"),
      answers: {
        // The scripts' refusal contract: result=refused-target and exit status 3 (outcome.ts).
        "restart-service": () => ({
          status: "Failed",
          exitCode: 3,
          stdout: "result=refused-target\nerror=PID 4242 started at another time\n",
        }),
        "check-health": () => ({ stdout: healthOutput("timeout") }),
      },
      run: { restart: { service: "api.service", command: null } },
    });
    const restart = requests.find((r) => r.name === "restart-service");
    expect(restart?.parameters).toMatchObject({
      port: "8080",
      service: "api.service",
      restartCommand: "",
      graceSeconds: "20",
      startTimeoutSeconds: "90",
      healthPath: "/health",
    });
    expect(restart?.timeoutMs).toBe((20 + 2 * 90 + 40) * 1000);
    expect(record.actions[0]).toMatchObject({
      status: "skipped",
      reason: "the host refused the target: PID 4242 started at another time",
      details: { newPid: null, refusedTarget: true },
    });
    expect(record.status).toBe("escalated");
  });

  it("connection-pool-exhaustion: the variant's ladder decides; a slow database is never restarted, a leak is", async () => {
    const restart = { service: "api.service", command: null };
    const slow = await runOnFakeHost({
      doc,
      probe: () => buildEvidence("pool-slow-db"),
      answers: { "check-health": () => ({ stdout: healthOutput("timeout") }) },
      run: { restart },
    });
    expect(slow.record.diagnosis?.findings[0]).toMatchObject({
      id: "connection-pool-exhaustion",
      variant: "slow-database",
    });
    expect(slow.record.steps.find((x) => x.id === "plan")?.inputs).toMatchObject({
      classId: "connection-pool-exhaustion",
      ladder: "connection-pool-exhaustion/slow-database",
    });
    expect(slow.record.plan?.ladder.map((a) => a.action)).toEqual(["notify-only"]);
    // Nothing but the probe ran on the host, though a restart was possible.
    expect(slow.requests.map((r) => r.name)).toEqual(["probe"]);

    const leak = await runOnFakeHost({
      doc,
      probe: (nth) => buildEvidence(nth === 0 ? "pool-leak" : "healthy"),
      answers: {
        "restart-service": () => ({ stdout: "result=ok\nnewPid=4343\nstopSignal=TERM\n" }),
        // Still down before the rung (a healthy host is never changed), up after it.
        "check-health": (_r, nth) => ({ stdout: healthOutput(nth === 0 ? "timeout" : "ok") }),
      },
      run: { restart },
    });
    expect(leak.record.plan?.ladder.map((a) => a.action)).toEqual(["restart-service", "escalate"]);
    expect(leak.requests.map((r) => r.name)).toContain("restart-service");
    expect(leak.record.actions[0]).toMatchObject({ action: "restart-service", status: "applied" });
  });

  it("an action without a host command notifies and stops the ladder; escalate escalates", async () => {
    const { record, requests, notices } = await runOnFakeHost({
      doc,
      probe: () => buildEvidence("healthy", (e) => (e.health = { ...e.health, outcome: "timeout" })),
      answers: { "check-health": () => ({ stdout: healthOutput("timeout") }) },
    });
    expect(requests.map((r) => r.name)).toEqual(["probe"]);
    expect(record.actions.map((a) => [a.action, a.status])).toEqual([["notify-only", "applied"]]);
    expect(notices).toHaveLength(2); // the rung's notice, and the escalation of an unrecovered run
  });
});

describe("finalStatus", () => {
  it("a rung a person declined: the record and the postmortem say the outcome once", async () => {
    const { record } = await runOnFakeHost({
      doc,
      probe: () => buildEvidence("ws-leak-at-limit"),
      answers: { "check-health": () => ({ stdout: healthOutput("timeout") }) },
      run: { mode: "approve" },
      approve: async () => ({ declined: "declined by jdoe" }),
    });
    expect(record.status).toBe("declined");
    expect(record.actions[0]).toMatchObject({ action: "kill-idle-connections", status: "declined" });
    expect(record.statusReason).toBe(
      "Not mitigated: rung 1 (kill-idle-connections) did not run: declined by jdoe; the service is still unhealthy.",
    );
    const m = buildPostmortem(record, { knowledge: KNOWLEDGE });
    expect(m.summary).toMatch(
      / Not mitigated: rung 1 \(kill-idle-connections\) did not run: declined by jdoe\.$/,
    );
    expect(m.summary.match(/declin/gi)).toHaveLength(1);
  });

  it("says a declined rung and the fleet brake once: no 'Mitigation declined (… was declined …)', no 'Braked: fleet brake'", () => {
    const braked = brakedRecord();
    const why = String(braked.steps.find((s) => s.id === "apply")?.outputs.reason);
    expect(why).toMatch(/^fleet brake: .*escalating instead of mitigating$/);
    expect(finalStatus(braked)).toEqual({
      status: "braked",
      reason: `Nothing was changed on the host: ${why}.`,
    });

    const declined = structuredClone(braked);
    const apply = declined.steps.find((s) => s.id === "apply");
    if (!apply) throw new Error("braked fixture without an apply step");
    apply.outputs = {
      stopReason: "declined",
      reason: "rung 1 (kill-idle-connections) did not run: declined by jdoe",
    };
    expect(finalStatus(declined)).toEqual({
      status: "declined",
      reason:
        "Not mitigated: rung 1 (kill-idle-connections) did not run: declined by jdoe; the service is still unhealthy.",
    });
  });
});
