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
    // Each CLI start is its own process: run the six at once (on a loaded machine one after another
    // took most of two minutes).
    await Promise.all(
      cases.map(async ([pid, pattern]) => {
        const [r, d] = await Promise.all([
          runCli([
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
          ]),
          runCli(["diagnose", "--port", String(port), "--pid", pid]),
        ]);
        expect(r.code, r.stderr).toBe(2);
        expect(oneLine(r.stderr)).toHaveLength(1);
        expect(r.stderr).toMatch(pattern);
        expect(d.code, d.stderr).toBe(2);
        expect(d.stderr).toMatch(pattern);
      }),
    );
    expect(readdirSync(out)).toEqual([]);
    expect(existsSync(`/proc/${unrelated.pid}`)).toBe(true);
  }, 240_000);

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

/** Runs CLI cases a few at a time (each is a Node start-up). */
async function runAll(cases: ReadonlyArray<readonly string[]>, width = 4) {
  const results: Awaited<ReturnType<typeof runCli>>[] = [];
  for (let i = 0; i < cases.length; i += width) {
    results.push(...(await Promise.all(cases.slice(i, i + width).map((args) => runCli(args)))));
  }
  return results;
}

describe("numbers, thresholds and folders: one line, exit 2, before anything runs", () => {
  it("rejects non-decimal, padded and out-of-range numbers, inherited or unknown threshold names, and values outside the threshold's range", async () => {
    const out = mkdtempSync(join(tmpdir(), "runbook-bad-"));
    const run = (...extra: string[]) => ["run", "api-unreachable", "--out", out, ...extra];
    const cases: Array<[string[], RegExp]> = [
      [run("--port", "0x1f90"), /^runbook: --port: expected a TCP port in decimal digits \(got '0x1f90'\)$/m],
      [run("--port", "8e3"), /--port: expected a TCP port in decimal digits/],
      [run("--port", " 8080"), /--port: expected a TCP port in decimal digits/],
      [run("--port", "8080 "), /--port: expected a TCP port in decimal digits/],
      [run("--port", "+8080"), /--port: expected a TCP port in decimal digits/],
      [run("--port", "65536"), /--port: expected a TCP port 1-65535/],
      [run("--port", "0"), /--port: expected a TCP port 1-65535/],
      [run("--port", "19232", "--pid", "0x10"), /--pid: expected a process id in decimal digits/],
      [
        run("--port", "19232", "--idle-threshold-seconds", "1e2"),
        /--idle-threshold-seconds: expected whole seconds in decimal digits/,
      ],
      [
        run("--port", "19232", "--threshold", "toString=1"),
        /--threshold toString=1: the runbook has no threshold 'toString'/,
      ],
      [run("--port", "19232", "--threshold", "constructor=1"), /the runbook has no threshold 'constructor'/],
      [run("--port", "19232", "--threshold", "fdUsedRatio=-0.5"), /--threshold: expected name=number/],
      [
        run("--port", "19232", "--threshold", "fdUsedRatio=1.5"),
        /--threshold fdUsedRatio=1.5: expected a ratio 0-1 for fdUsedRatio/,
      ],
      [run("--port", "19232", "--threshold", "httpKeepAliveMs=1e5"), /--threshold: expected name=number/],
      [["diagnose", "--port", "0x50"], /--port: expected a TCP port in decimal digits/],
    ];
    const results = await runAll(cases.map(([args]) => args));
    cases.forEach(([args, pattern], i) => {
      const r = results[i];
      expect(r?.code, args.join(" ")).toBe(2);
      expect(oneLine(r?.stderr ?? ""), args.join(" ")).toHaveLength(1);
      expect(r?.stderr, args.join(" ")).toMatch(pattern);
    });
    expect(readdirSync(out)).toEqual([]);
  }, 300_000);

  it("an unusable --out and a missing --templates folder exit 2 before anything runs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "runbook-bad-"));
    const file = join(dir, "a-file");
    writeFileSync(file, "not a folder");
    const [out, under, templates, proc] = await runAll([
      ["run", "api-unreachable", "--port", "19233", "--out", file],
      ["run", "api-unreachable", "--port", "19233", "--out", join(file, "sub")],
      ["postmortem", dir, "--templates", join(dir, "no-such-templates")],
      // /proc refuses new folders with ENOENT: Node's recursive mkdir never settled on it (the run hung).
      ["run", "api-unreachable", "--port", "19233", "--mode", "plan", "--out", "/proc/runbook-no-such/out"],
    ]);
    expect(proc?.code, proc?.stderr).toBe(2);
    expect(proc?.stderr).toMatch(
      /^runbook: --out \/proc\/runbook-no-such\/out: not a folder this user can write \(ENOENT\)$/m,
    );
    expect(oneLine(proc?.stderr ?? "")).toHaveLength(1);
    expect(out?.code, out?.stderr).toBe(2);
    expect(out?.stderr).toMatch(
      new RegExp(`^runbook: --out ${file}: not a folder this user can write \\(EEXIST|ENOTDIR\\)`),
    );
    expect(oneLine(out?.stderr ?? "")).toHaveLength(1);
    expect(under?.code, under?.stderr).toBe(2);
    expect(under?.stderr).toMatch(/not a folder this user can write \(ENOTDIR\)/);
    expect(templates?.code, templates?.stderr).toBe(2);
    expect(templates?.stderr).toMatch(/^runbook: --templates \S+no-such-templates: no such folder$/m);
    expect(readdirSync(dir)).toEqual(["a-file"]);
  }, 120_000);

  it("an --out the probe's raw folder could not use exits 2 before anything runs (spaces are fine: test/e2e/run.test.ts)", async () => {
    const base = mkdtempSync(join(tmpdir(), "runbook out-"));
    const results = await runAll([
      ["run", "api-unreachable", "--port", "19151", "--out", join(base, "a+b")],
      ["run", "api-unreachable", "--port", "19151", "--out", join(base, "a\nb")],
      ["run", "api-unreachable", "--port", "19151", "--out", join(base, "x".repeat(240))],
    ]);
    const expected = [
      /found "\+"/,
      /found "\\n"/,
      /too long for the probe's raw folder \(\d+ characters, at most 215\)/,
    ];
    results.forEach((r, i) => {
      expect(r.code, r.stderr).toBe(2);
      expect(oneLine(r.stderr)).toHaveLength(1);
      expect(r.stderr).toMatch(/^runbook: --out \//);
      expect(r.stderr).toMatch(expected[i] as RegExp);
    });
    expect(readdirSync(base)).toEqual([]);
  }, 120_000);
});
