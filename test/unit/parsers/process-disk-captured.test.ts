import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Evidence } from "../../../lambdas/core/evidence/schema.js";
import { parseProbeOutput } from "../../../lambdas/core/parsers/probe-output.js";
import { diagnose } from "../../../lambdas/core/rules/engine.js";
import { dataOf } from "../../../lambdas/core/shared/section.js";
import { shippedRunbook } from "../rules/helpers.js";

/**
 * The probe's real stdout in the lab's process-down and disk-full modes (scripts/capture-process-disk.ts,
 * test/fixtures/probe/), parsed and diagnosed with the shipped runbook's defaults.
 */
const runbook = shippedRunbook();

function captured(mode: string): Evidence {
  const text = readFileSync(new URL(`../../fixtures/probe/${mode}.txt`, import.meta.url), "utf8");
  const r = parseProbeOutput(text, { target: "local" });
  if (!r.ok) throw r.error;
  return r.value;
}

describe("captured probe output: process-down and disk-full", () => {
  it("process-oom-killed: the kernel's memory-cgroup OOM kill of the JVM, with its resident size and the limit", () => {
    const e = captured("process-oom-killed");
    const kill = dataOf(e.exit)?.oomKill;
    expect(kill).toMatchObject({ constraint: "memcg", limitKb: 192 * 1024 });
    expect(kill?.line).toMatch(/Memory cgroup out of memory: Killed process \d+ \(java\)/);
    expect(kill?.anonRssKb).toBeGreaterThan(100 * 1024);
    const d = diagnose(e, runbook);
    expect(d.rootCause.id).toBe("process-down");
    expect(d.findings[0]?.variant).toBe("oom-killed");
  });

  it("process-crashed: the JVM's crash file in /tmp and its error (no problematic frame: an internal error)", () => {
    const e = captured("process-crashed");
    const crash = dataOf(e.exit)?.crash;
    expect(crash?.path).toMatch(/^\/tmp\/hs_err_pid\d+\.log$/);
    expect(crash?.pid).toBe(Number(/pid(\d+)/.exec(crash?.path ?? "")?.[1]));
    expect(crash?.error).toMatch(/Internal Error .*fatal error: OutOfMemory encountered: Java heap space/);
    const d = diagnose(e, runbook);
    expect(d.rootCause.id).toBe("process-down");
    expect(d.findings[0]?.variant).toBe("crashed");
  });

  it("process-exited: no unit, no trace: down, the reason unknown, and what was looked at", () => {
    const e = captured("process-exited");
    expect(dataOf(e.exit)).toMatchObject({ unit: null, oomKill: null, crash: null });
    const d = diagnose(e, runbook);
    expect(d.rootCause.id).toBe("process-down");
    expect(d.findings[0]?.variant).toBe("no-listener");
    expect(d.rootCause.summary).toContain("Why it exited is unknown: no systemd unit given (--service)");
  });

  it("disk-full: the log's tmpfs full, the rolled request logs its top space users, health 503", () => {
    const e = captured("disk-full");
    const log = dataOf(e.disk)?.filesystems.find((f) => f.role === "log");
    expect(log?.mount).toMatch(/\/logs$/);
    expect(log?.usedPercent).toBeGreaterThanOrEqual(97);
    expect(dataOf(e.disk)?.topUsers.some((u) => /requests\.log\.\d+$/.test(u.path))).toBe(true);
    expect(e.health.httpStatus).toBe(503);
    const d = diagnose(e, runbook);
    expect(d.rootCause.id).toBe("disk-full");
    expect(d.findings.map((f) => f.id)).toEqual(["disk-full"]);
    expect(d.ruledOut.map((r) => r.id)).toEqual(
      expect.arrayContaining(["process-down", "load-balancer-path"]),
    );
  });
});
