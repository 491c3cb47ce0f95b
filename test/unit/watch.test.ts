import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import type { CommandRequest, CommandResult, CommandRunner } from "../../lambdas/ports/index.js";
import { watchTarget } from "../../lambdas/workflows/watch.js";
import { BIN as bin } from "../support/cli.js";

const T0 = Date.parse("2026-01-01T00:00:00Z");

/** leak-watch stdout for one sample: `fds` open of a 1000 limit, taken `i` × 30 s after T0. */
function probeOutput(i: number, fds: number): string {
  return [
    "#runbook-leak-watch format=1 version=1.0.0",
    `at=${new Date(T0 + i * 30_000).toISOString()}`,
    "port=8080",
    "idleThresholdMs=120000",
    "pid=4242",
    "startTicks=77",
    `openFds=${fds}`,
    "fdLimit=1000",
    `established=${fds - 40}`,
    "idleEstablished=0",
    "heapOldGenPercent=10.00",
    "unavailable=sessions not sampled",
    "sessions=",
    "==> end status=ok durationMs=5",
    "",
  ].join("\n");
}

const result = (stdout: string, status: CommandResult["status"] = "Success"): CommandResult => ({
  status,
  exitCode: status === "Success" ? 0 : 1,
  stdout,
  stderr: status === "Success" ? "" : "ss: permission denied",
  stdoutTruncated: false,
  durationMs: 1,
  outputUri: null,
  detail: null,
});

/** A CommandRunner that answers from a script of outputs and records what it was asked. */
class ScriptedRunner implements CommandRunner {
  readonly requests: CommandRequest[] = [];
  constructor(private readonly answer: (n: number) => CommandResult) {}
  async run(_target: string, request: CommandRequest): Promise<CommandResult> {
    this.requests.push(request);
    return this.answer(this.requests.length - 1);
  }
}

const clock = { now: () => new Date(), sleep: async () => {} };
const base = {
  target: "local",
  port: 8080,
  pid: null,
  idleThresholdMs: 120_000,
  withHistogram: false,
  intervalMs: 1,
  samples: null,
  durationMs: null,
};

describe("watchTarget", () => {
  it("takes N samples through the runner with the probe's parameters, forecasting after each", async () => {
    const runner = new ScriptedRunner((n) => result(probeOutput(n, 100 + 10 * n)));
    const progress: string[] = [];
    const r = await watchTarget(
      { runner, clock, script: "#!probe" },
      { ...base, samples: 10, onSample: (_s, f, i) => progress.push(`${i} ${f.forecast.status}`) },
    );
    expect(r.stoppedBy).toBe("samples");
    expect(r.samples).toHaveLength(10);
    expect(progress).toEqual([
      "1 insufficient-samples",
      "2 insufficient-samples",
      "3 insufficient-samples",
      "4 insufficient-samples",
      "5 exhaustion",
      "6 exhaustion",
      "7 exhaustion",
      "8 exhaustion",
      "9 exhaustion",
      "10 exhaustion",
    ]);
    // 10 fds per 30 s from 190: (1000 − 190) / 10 × 30 s.
    expect(r.forecast.timeToExhaustionSeconds).toBeCloseTo(2430, 3);
    expect(runner.requests[0]).toEqual({
      name: "leak-watch",
      scriptPath: "probes/leak-watch.sh",
      script: "#!probe",
      parameters: {
        port: "8080",
        pid: "",
        idleThresholdMs: "120000",
        withHistogram: "false",
        sessionClasses: "",
      },
      timeoutMs: 30_000,
    });
  });

  it("stops when aborted, with the forecast so far", async () => {
    const abort = new AbortController();
    const runner = new ScriptedRunner((n) => {
      if (n === 6) abort.abort();
      return result(probeOutput(n, 100 + 10 * n));
    });
    const r = await watchTarget({ runner, clock, script: "" }, { ...base, signal: abort.signal });
    expect(r.stoppedBy).toBe("interrupted");
    expect(r.samples).toHaveLength(6);
    expect(r.forecast.status).toBe("exhaustion");
  });

  it("skips a failed sample, and stops after three failures in a row", async () => {
    const runner = new ScriptedRunner((n) => (n === 0 ? result(probeOutput(0, 50)) : result("", "Failed")));
    const errors: string[] = [];
    const r = await watchTarget(
      { runner, clock, script: "" },
      { ...base, samples: 10, onError: (m) => errors.push(m) },
    );
    expect(r.stoppedBy).toBe("errors");
    expect(r.samples).toHaveLength(1);
    expect(errors).toEqual(Array(3).fill("leak-watch probe Failed: ss: permission denied"));
    expect(r.forecast.reason).toBe("1 sample; a forecast needs at least 5");
  });

  it("stops after the duration", async () => {
    const runner = new ScriptedRunner((n) => result(probeOutput(n, 100)));
    const r = await watchTarget({ runner, clock, script: "" }, { ...base, intervalMs: 20, durationMs: 50 });
    expect(r.stoppedBy).toBe("duration");
    expect(r.samples.length).toBeGreaterThanOrEqual(2);
    expect(r.samples.length).toBeLessThanOrEqual(3);
  });
});

describe("runbook watch: bad input is one line and exit 2", () => {
  const cases: Array<[string[], string]> = [
    [["--port", "x"], "runbook: --port: expected a TCP port in decimal digits (got 'x')"],
    [
      ["--port", "80", "--interval", "1x"],
      "runbook: --interval: expected a duration like 30s, 2m, 1h or 500ms (got '1x')",
    ],
    [["--port", "80", "--interval", "500ms"], "runbook: --interval: expected at least 1s (got '500ms')"],
    [["--port", "80", "--samples", "1"], "runbook: --samples: expected at least 2 samples (got '1')"],
    [
      ["--port", "80", "--samples", "3", "--duration", "1m"],
      "runbook: --duration: give --samples or --duration, not both (got '1m')",
    ],
    [
      ["--port", "80", "--target", "i-123"],
      "runbook: --target: expected `local` or `ssm:i-<instance id>` (e.g. ssm:i-0123456789abcdef0) (got 'i-123')",
    ],
    [
      ["--port", "80", "--output", "xml"],
      'runbook: --output: Invalid option: expected one of "json"|"text" (got \'xml\')',
    ],
  ];
  it.each(cases)("%j", (args, line) => {
    const r = spawnSync("node", [bin, "watch", ...args], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(line);
    expect(r.stdout).toBe("");
  });
});
