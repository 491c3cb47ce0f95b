import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { listening, runCli, startTicksOf, waitFor } from "../support/cli.js";

/**
 * Bad input to `runbook diagnose` and `runbook run`: one line naming the problem, exit 2, before
 * anything runs (no incident folder, no probe, no action). Ports 19230-19239.
 */
const started: ChildProcess[] = [];
afterAll(() => {
  for (const c of started) {
    try {
      if (c.pid) process.kill(c.pid, "SIGKILL");
    } catch {}
  }
});

function spawnQuiet(cmd: string, args: string[]): ChildProcess {
  const c = spawn(cmd, args, { stdio: "ignore", detached: true });
  c.unref();
  started.push(c);
  return c;
}

/** A listener in its own process, with a child of its own (a launcher's child) and an unrelated sleeper. */
async function listenerWithChild(port: number) {
  const dir = mkdtempSync(join(tmpdir(), "listener-"));
  const file = join(dir, "listener.cjs");
  writeFileSync(
    file,
    `const c = require("node:child_process").spawn("sleep", ["300"], { stdio: "ignore" });
require("node:http").createServer((q, s) => { s.statusCode = 503; s.end("down"); }).listen(${port}, "127.0.0.1", () => console.log("child=" + c.pid));`,
  );
  const listener = spawn(process.execPath, [file], { stdio: ["ignore", "pipe", "ignore"], detached: true });
  started.push(listener);
  const child = await new Promise<number>((resolve) =>
    listener.stdout?.on("data", (b: Buffer) => {
      const m = /child=(\d+)/.exec(b.toString());
      if (m) resolve(Number(m[1]));
    }),
  );
  started.push({ pid: child } as ChildProcess);
  await waitFor(`port ${port} to listen`, () => listening(port));
  return { pid: listener.pid ?? 0, child };
}

const oneLine = (stderr: string) => stderr.trim().split("\n");

describe("--pid is the port's listener (or its launcher's child), checked before anything runs", () => {
  it("refuses an unrelated process and PID 1 with exit 2 and one line; nothing runs, nothing is killed", async () => {
    const port = 19230;
    await listenerWithChild(port);
    const unrelated = spawnQuiet("sleep", ["300"]);
    const out = mkdtempSync(join(tmpdir(), "runbook-pid-"));
    const cases: Array<[string, RegExp]> = [
      [
        String(unrelated.pid),
        new RegExp(
          `^runbook: --pid ${unrelated.pid}: PID ${unrelated.pid} does not own the listener of port ${port}`,
        ),
      ],
      ["1", /^runbook: --pid 1: PID 1 is the init process/],
      [
        String(process.pid),
        new RegExp(`PID ${process.pid} is this runbook's own process or one of its ancestors`),
      ],
    ];
    for (const [pid, pattern] of cases) {
      const r = await runCli([
        "run",
        "api-unreachable",
        "--port",
        String(port),
        "--pid",
        pid,
        "--mode",
        "auto",
        "--restart-command",
        "true",
        "--out",
        out,
      ]);
      expect(r.code, r.stderr).toBe(2);
      expect(oneLine(r.stderr)).toHaveLength(1);
      expect(r.stderr).toMatch(pattern);
      const d = await runCli(["diagnose", "--port", String(port), "--pid", pid]);
      expect(d.code, d.stderr).toBe(2);
      expect(d.stderr).toMatch(pattern);
    }
    expect(readdirSync(out)).toEqual([]);
    expect(existsSync(`/proc/${unrelated.pid}`)).toBe(true);
  }, 120_000);

  it("accepts the listener and its launcher's child; the evidence carries the start time and the relation", async () => {
    const port = 19231;
    const l = await listenerWithChild(port);
    for (const [pid, relation] of [
      [l.pid, "owner"],
      [l.child, "launcher-child"],
    ] as const) {
      const r = await runCli(["diagnose", "--port", String(port), "--pid", String(pid), "--output", "json"]);
      expect(r.code, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout) as {
        evidence: {
          process: { status: string; data: { pid: number; startTicks: number; listenerRelation: string } };
        };
      };
      expect(doc.evidence.process.data).toMatchObject({
        pid,
        startTicks: Number(startTicksOf(pid)),
        listenerRelation: relation,
      });
    }
  }, 120_000);
});
