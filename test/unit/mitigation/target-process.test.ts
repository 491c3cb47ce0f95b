import { describe, expect, it } from "vitest";
import type { Evidence } from "../../../lambdas/core/evidence/schema.js";
import { planMitigation } from "../../../lambdas/core/mitigation/plan.js";
import { targetProcess } from "../../../lambdas/core/mitigation/target-process.js";
import { buildEvidence, data, setUnavailable } from "../../support/evidence-factory.js";

/** The process a restart may stop is exactly the one the saved evidence identified. */
const withProcess = (patch: Partial<ReturnType<typeof data<"process">>>): Evidence =>
  buildEvidence("ws-leak-at-limit", (e) => Object.assign(data(e, "process"), patch));

describe("targetProcess", () => {
  it("names the diagnosed PID and its start time", () => {
    expect(targetProcess(withProcess({ pid: 4242, startTicks: 99 }))).toEqual({
      ok: true,
      pid: 4242,
      startTicks: 99,
    });
  });

  it("refuses PID 1, an operator's --pid that does not own the listener, and evidence without a start time", () => {
    const cases: Array<[Evidence, RegExp]> = [
      [withProcess({ pid: 1 }), /PID 1 is the init process/],
      [
        withProcess({ pidSource: "input", listenerRelation: "none" }),
        /given with --pid but does not own the listener of port 8080 \(none\)/,
      ],
      [withProcess({ pidSource: "input", listenerRelation: "unknown" }), /does not own the listener/],
      [withProcess({ pidSource: "input", listenerRelation: undefined }), /\(not checked\)/],
      [withProcess({ startTicks: undefined }), /no start time for PID 4242/],
      [withProcess({ startTicks: null }), /no start time for PID 4242/],
    ];
    for (const [evidence, reason] of cases) {
      const t = targetProcess(evidence);
      expect(t.ok).toBe(false);
      expect(t.ok ? "" : t.reason).toMatch(reason);
    }
    expect(targetProcess(withProcess({ pidSource: "input", listenerRelation: "launcher-child" })).ok).toBe(
      true,
    );
  });

  it("refuses when later evidence shows another process (PID reused or restarted meanwhile)", () => {
    const before = withProcess({ pid: 4242, startTicks: 99 });
    expect(targetProcess(before, withProcess({ pid: 4242, startTicks: 100 }))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/process changed since the evidence was saved/),
    });
    expect(targetProcess(before, withProcess({ pid: 4243, startTicks: 99 })).ok).toBe(false);
    expect(targetProcess(before, withProcess({ pid: 4242, startTicks: 99 })).ok).toBe(true);
  });

  it("with no process: start only when nothing listened, refuse when something unidentified listens", () => {
    const down = buildEvidence("ws-leak-at-limit", (e) => {
      setUnavailable(e, "process", "no target process: no process listens on port 8080");
      Object.assign(data(e, "listener"), { listening: false, address: null, acceptQueue: null });
    });
    expect(targetProcess(down)).toEqual({ ok: true, pid: null, startTicks: null });
    const hidden = buildEvidence("ws-leak-at-limit", (e) =>
      setUnavailable(e, "process", "no target process: permission denied"),
    );
    expect(targetProcess(hidden)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/permission denied/),
    });
    expect(targetProcess(null).ok).toBe(false);
  });

  it("a plan never reads 'stop PID 1': the restart rung is blocked with the reason", () => {
    const t = targetProcess(withProcess({ pid: 1, pidSource: "input", listenerRelation: "owner" }));
    const plan = planMitigation({
      classId: "websocket-session-leak",
      ladder: [{ action: "restart-service" }, { action: "escalate" }],
      mode: "auto",
      context: {
        port: 8080,
        healthPath: "/health",
        pid: 1,
        restart: { service: null, command: "start-app" },
        process: t,
        histogramMissing: false,
      },
      hostHealthy: false,
      cooldownSeconds: 60,
    });
    expect(plan.ladder[0]?.blockedReason).toMatch(/PID 1 is the init process/);
  });
});
