import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { incidentRecordSchema } from "../../lambdas/core/incident/schema.js";
import { incidentIdFrom, runCli, waitFor } from "../support/cli.js";

/**
 * Signals and concurrent runs, without a JVM: nothing listens on the port, so the runbook diagnoses
 * process-down and its restart rung runs restart-service.sh, which then waits for a listener that
 * never comes. While it waits: a second run on the same target reports "in progress" (exit 5), and
 * SIGTERM stops the script's whole process group and records that the action may have been cut
 * mid-way. Every step waits for an event (a stderr line, a process gone). Ports 19240-19249.
 */
const readRecord = (out: string, id: string) =>
  incidentRecordSchema.parse(JSON.parse(readFileSync(join(out, id, "incident.json"), "utf8")));

/** PIDs of restart-service.sh processes started for this `--out` folder (found by their environment). */
function restartScripts(marker: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8");
      const environ = readFileSync(`/proc/${name}/environ`, "utf8");
      if (cmdline.includes("runbook-restart-service") && environ.includes(marker)) pids.push(Number(name));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

describe("interrupts and concurrent runs", () => {
  it("a concurrent run reports in progress (exit 5); SIGTERM stops the action's process group and the record says the action may be cut mid-way", async () => {
    const port = 19240;
    const out = mkdtempSync(join(tmpdir(), "runbook-interrupt-"));
    // Unique per test: the restart command names the folder, so the script's environment carries it.
    const marker = `true # ${out}`;
    const args = [
      "run",
      "api-unreachable",
      "--port",
      String(port),
      "--mode",
      "auto",
      "--out",
      out,
      "--restart-command",
      marker,
      "--no-postmortem",
    ];
    let firstStderr = "";
    const first = runCli(args, {
      timeoutMs: 180_000,
      onStderr: (e) => {
        firstStderr = e;
      },
    });
    await waitFor("the first run's restart rung", () => /rung 1: restart-service running/.test(firstStderr), {
      timeoutMs: 120_000,
    });
    const script = await waitFor("restart-service.sh to start", () => restartScripts(marker)[0], {
      timeoutMs: 30_000,
    });

    const second = await runCli(args, { timeoutMs: 120_000 });
    expect(second.code, second.stderr).toBe(5);
    const secondRecord = readRecord(out, incidentIdFrom(second.stderr));
    expect(secondRecord.status).toBe("cooldown");
    expect(secondRecord.statusReason).toMatch(
      /in progress: incident inc-\S+ is mitigating target local right now/,
    );
    expect(secondRecord.actions.filter((a) => a.status === "applied")).toEqual([]);

    const firstPid = await waitFor("the first run's PID", () => pidOfRun(out), { timeoutMs: 5_000 });
    process.kill(firstPid, "SIGTERM");
    const r = await first;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/interrupted \(SIGTERM\)/);
    const rec = readRecord(out, incidentIdFrom(r.stderr));
    expect(rec.status).toBe("interrupted");
    expect(rec.statusReason).toMatch(
      /^Interrupted \(SIGTERM\) during step apply while restart-service \(rung 1\) was running: it may have been interrupted mid-way/,
    );
    expect(rec.statusReason).not.toMatch(/SIGINT/);
    const cut = rec.actions.find((a) => a.action === "restart-service");
    expect(cut).toMatchObject({ status: "failed", details: { interruptedBy: "SIGTERM" } });
    expect(cut?.reason).toMatch(/may have stopped mid-way/);
    // The script's process group is gone with the run.
    await waitFor(
      `restart-service.sh (PID ${script}) to be gone`,
      () => restartScripts(marker).length === 0,
      {
        timeoutMs: 10_000,
      },
    );
  }, 300_000);
});

/** The PID of the `runbook run` holding the lock in this folder (the lock names it). */
function pidOfRun(out: string): number | undefined {
  const dir = join(out, ".locks");
  const file = readdirSync(dir).find((f) => /^local\.g\d+\.json$/.test(f));
  return file ? (JSON.parse(readFileSync(join(dir, file), "utf8")) as { pid: number }).pid : undefined;
}
