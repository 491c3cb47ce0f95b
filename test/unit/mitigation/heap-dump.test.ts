import { describe, expect, it } from "vitest";
import { actionModule } from "../../../lambdas/core/mitigation/actions/registry.js";
import type { ActionContext } from "../../../lambdas/core/mitigation/actions/types.js";
import { planMitigation } from "../../../lambdas/core/mitigation/plan.js";
import { actionContext } from "../../support/action-context.js";
import { shippedRunbook } from "../rules/helpers.js";

const ctx: ActionContext = actionContext({ histogramMissing: true });
const heapDump = actionModule("heap-dump");

describe("heap-dump action module", () => {
  it("is a host change with its own script, and its defaults live in its params", () => {
    expect(heapDump.destructive).toBe(true);
    expect(heapDump.command?.script).toBe("actions/heap-dump.sh");
    expect(heapDump.params.parse({})).toEqual({
      dumpDir: "/var/tmp/runbook-autopilot-heap-dumps",
      freeSpaceFactor: 1.2,
      timeoutSeconds: 600,
    });
  });

  it("refuses a dump folder that is relative, has .. or odd characters", () => {
    for (const dumpDir of ["var/tmp/x", "/var/tmp/../etc", "/var/tmp/a b", "/var/./tmp"])
      expect(heapDump.params.safeParse({ dumpDir }).success).toBe(false);
  });

  it("runs once, on the diagnosed PID and start time, every parameter within its SSM pattern", () => {
    const r = heapDump.runs(heapDump.params.parse({ freeSpaceFactor: 2 }), ctx);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.runs).toHaveLength(1);
    const p = r.runs[0]?.parameters ?? {};
    expect(p).toEqual({
      pid: "4242",
      startTicks: "99",
      dumpDir: "/var/tmp/runbook-autopilot-heap-dumps",
      freeSpaceFactor: "2.0",
      timeoutSeconds: "600",
    });
    const specs = heapDump.command?.parameters ?? {};
    expect(Object.keys(specs).sort()).toEqual(Object.keys(p).sort());
    for (const [name, value] of Object.entries(p))
      expect(new RegExp(specs[name]?.allowedPattern ?? "^$").test(value), name).toBe(true);
  });

  it("is blocked with a reason when no process (or not the diagnosed one) can be dumped", () => {
    expect(heapDump.blocked({ ...ctx, process: { ok: true, pid: null, startTicks: null } })).toMatch(
      /no JVM to dump/,
    );
    expect(heapDump.blocked({ ...ctx, process: { ok: false, reason: "the process changed" } })).toBe(
      "the process changed",
    );
    expect(heapDump.blocked(ctx)).toBeNull();
  });

  it("heads the heap-exhaustion ladder of the shipped runbook: dump, restart, escalate", () => {
    const runbook = shippedRunbook();
    const plan = planMitigation({
      classId: "heap-exhaustion",
      ladder: runbook.mitigation.ladders["heap-exhaustion"] ?? [],
      mode: "auto",
      context: ctx,
      hostHealthy: false,
      cooldownSeconds: 1800,
    });
    expect(plan.ladder.map((a) => a.action)).toEqual(["heap-dump", "restart-service", "escalate"]);
    expect(plan.ladder[0]?.description).toMatch(
      /heap dump of PID 4242 .* as the JVM's user.*below 1\.2x the heap in use/,
    );
    expect(plan.ladder[0]?.blockedReason).toBeNull();
  });

  it("summarizes what the script printed", () => {
    const kv = {
      result: "ok",
      file: "/var/tmp/runbook-autopilot-heap-dumps/4242-99-20261202T100000Z/heap.hprof",
      bytes: "70123456",
      seconds: "3",
      heapUsedBytes: "66000000",
      heapUsedFrom: "GC.heap_info",
    };
    const out = [
      {
        part: "main",
        relief: false,
        kv,
        result: {
          status: "Success" as const,
          exitCode: 0,
          stdout: "",
          stderr: "",
          durationMs: 3000,
          stdoutTruncated: false,
          outputUri: null,
          detail: null,
        },
      },
    ];
    expect(heapDump.summarize(out)).toMatch(/heap dump written: .*heap\.hprof \(70123456 bytes in 3s/);
    expect(heapDump.details?.(kv)).toEqual({ file: kv.file, bytes: 70_123_456 });
  });
});
