import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseKeyValues } from "../../../lambdas/core/mitigation/action-output.js";
import { REPO, startTicksOf } from "../../support/cli.js";
import { parseSs } from "../../support/oracles/index.js";

/**
 * The action scripts' input handling and the idle rule they share with the probe, without sockets:
 * a stand-in `ss` on PATH prints fixed sockets. Port 19160 (nothing listens on it).
 */
const KILL = join(REPO, "runbooks/actions/kill-idle-connections.sh");
const HEALTH = join(REPO, "runbooks/actions/check-health.sh");
const RESTART = join(REPO, "runbooks/actions/restart-service.sh");
const PROBE = join(REPO, "runbooks/probes/api-unreachable.sh");
const LEAK_WATCH = join(REPO, "runbooks/probes/leak-watch.sh");
const PORT = 19160;
const bin = mkdtempSync(join(tmpdir(), "fake-ss-idle-"));
/** The diagnosed process the fake sockets belong to: a process that is not this test's ancestor. */
const owner = spawn("sleep", ["600"], { stdio: "ignore" });
const OWNER = { SSM_pid: String(owner.pid), SSM_startTicks: startTicksOf(owner.pid ?? 0) };
afterAll(() => {
  owner.kill("SIGKILL");
  rmSync(bin, { recursive: true, force: true });
});

function run(script: string, env: Record<string, string>, path = process.env.PATH ?? "", shell = "bash") {
  const r = spawnSync(shell, [script], { env: { PATH: path, ...env }, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, out: parseKeyValues(r.stdout), stdout: r.stdout, stderr: r.stderr };
}

/** Sockets idle exactly at, just below and just above 1000 ms (by lastrcv), and one judged by lastack. */
const SOCKETS = [
  { peer: "127.0.0.1:50001", info: "lastsnd:5 lastrcv:999 lastack:999" },
  { peer: "127.0.0.1:50002", info: "lastsnd:5 lastrcv:1000 lastack:1000" },
  { peer: "127.0.0.1:50003", info: "lastsnd:5 lastrcv:1001 lastack:1001" },
  { peer: "127.0.0.1:50004", info: "lastsnd:5 lastack:1000" },
  { peer: "127.0.0.1:50005", info: "lastsnd:5 lastack:5000" },
];
const local = `127.0.0.1:${PORT}`;
/** As `ss -tanoi "( sport = :PORT )"` prints them (what the probe reads and the test oracle test/support/oracles/ss.ts parses). */
const WITH_STATE = [
  "State Recv-Q Send-Q Local Address:Port Peer Address:Port Process",
  ...SOCKETS.flatMap((s) => [`ESTAB 0 0 ${local} ${s.peer}`, `\t cubic ${s.info}`]),
].join("\n");
/** As `ss -tanoi state established ...` prints them (what the kill script reads: no State column). */
const ESTABLISHED = [
  "Recv-Q Send-Q Local Address:Port Peer Address:Port Process",
  ...SOCKETS.flatMap((s) => [`0 0 ${local} ${s.peer}`, `\t cubic ${s.info}`]),
].join("\n");
writeFileSync(join(bin, "sockets.txt"), `${ESTABLISHED}\n`);
// It leaves a mark when called, so a test can tell that a refusal came before any socket was listed.
writeFileSync(
  join(bin, "ss"),
  `#!/bin/bash\ntouch "${join(bin, "ss-called")}"\ncat "${join(bin, "sockets.txt")}"\n`,
);
chmodSync(join(bin, "ss"), 0o755);
const FAKE_PATH = `${bin}:${process.env.PATH}`;

describe("the idle rule is the probe's: idle > threshold", () => {
  it("kill-idle-connections selects exactly the sockets the probe counts as over the threshold", () => {
    const parsed = parseSs(WITH_STATE, { port: PORT, idleThresholdMs: 1000 });
    if (!parsed.ok) throw parsed.error;
    const r = run(
      KILL,
      { SSM_port: String(PORT), SSM_minIdleMs: "1000", SSM_dryRun: "true", ...OWNER },
      FAKE_PATH,
    );
    expect(r.out).toMatchObject({ result: "dry-run" });
    // 1001 (lastrcv) and 5000 (lastack only): not the ones at exactly 1000.
    expect(parsed.value.aggregate.idle.overThreshold).toBe(2);
    expect(r.out.candidates).toBe(String(parsed.value.aggregate.idle.overThreshold));
  });
});

describe("numeric input is decimal (10#), validated like the SSM patterns", () => {
  it("leading zeros are read in base 10, never as octal", () => {
    const r = run(
      KILL,
      {
        SSM_port: "09160",
        SSM_minIdleMs: "0999",
        SSM_maxConnections: "09",
        SSM_limit: "",
        SSM_dryRun: "true",
        ...OWNER,
      },
      FAKE_PATH,
    );
    expect(r.code).toBe(0);
    expect(r.out).toMatchObject({ port: "9160", minIdleMs: "999", candidates: "4", result: "dry-run" });
    // Port 9160: nothing listens there; 08 attempts are 8, not an octal error.
    const h = run(HEALTH, {
      SSM_port: "09160",
      SSM_attempts: "08",
      SSM_intervalSeconds: "0",
      SSM_requestTimeoutSeconds: "09",
    });
    expect(h.code).toBe(0);
    expect(h.stdout.match(/^attempt=/gm)).toHaveLength(8);
    expect(h.stdout).toMatch(/^recovered=false$/m);
  });

  it.each([
    [KILL, { SSM_port: "0x1F", SSM_minIdleMs: "1000" }],
    [KILL, { SSM_port: "65536", SSM_minIdleMs: "1000" }],
    [KILL, { SSM_port: "8080", SSM_minIdleMs: "1e3" }],
    [KILL, { SSM_port: "8080", SSM_minIdleMs: "1000", SSM_maxConnections: "12345678" }],
    [KILL, { SSM_port: "8080", SSM_minIdleMs: "1000", SSM_limit: "01" }],
    [HEALTH, { SSM_port: " 8080" }],
    [HEALTH, { SSM_port: "8080", SSM_healthPath: "/health?x=$(id)" }],
    [HEALTH, { SSM_port: "8080", SSM_attempts: "0" }],
    [HEALTH, { SSM_port: "8080", SSM_intervalSeconds: "-1" }],
    [HEALTH, { SSM_port: "8080", SSM_requestTimeoutSeconds: "00" }],
  ])("%s rejects %j with exit 2 and result=invalid-input", (script, env) => {
    const r = run(script, env, FAKE_PATH);
    expect(r.code).toBe(2);
    expect(r.out.result).toBe("invalid-input");
    expect(r.out.error).toMatch(/^SSM_/);
  });
});

describe("kill-idle-connections acts only on the diagnosed process (PID and start time, re-checked on the host)", () => {
  const gone = spawnSync("true").pid;
  it.each([
    ["PID 1", { SSM_pid: "1", SSM_startTicks: startTicksOf(1) }, /PID 1 is the init process/],
    [
      "its own ancestor (this test process)",
      { SSM_pid: String(process.pid), SSM_startTicks: startTicksOf(process.pid) },
      /own process or one of its ancestors/,
    ],
    [
      "a PID whose start time differs (reused)",
      { SSM_pid: OWNER.SSM_pid, SSM_startTicks: String(Number(OWNER.SSM_startTicks) + 1) },
      /now belongs to another process \(start time \d+, expected \d+\)/,
    ],
    ["a PID that is gone", { SSM_pid: String(gone), SSM_startTicks: "12345" }, /is gone/],
  ])(
    "refuses %s: exit 3, result=refused-target, one line on stderr, before any socket is listed",
    (_n, env, error) => {
      rmSync(join(bin, "ss-called"), { force: true });
      const r = run(KILL, { SSM_port: String(PORT), SSM_minIdleMs: "1000", ...env }, FAKE_PATH);
      expect(r.code, r.stdout).toBe(3);
      expect(r.out.result).toBe("refused-target");
      expect(r.out.error).toMatch(error);
      expect(r.stderr.trim().split("\n")).toEqual([`kill-idle-connections: refused: ${r.out.error}`]);
      expect(existsSync(join(bin, "ss-called"))).toBe(false);
    },
  );
});

/**
 * bash >= 5 is the scripts' floor (the probe reads $EPOCHREALTIME). No bash 4 can be installed here, so
 * the guard is run as an old bash would run it: by a POSIX shell (dash) that reports the version an old
 * bash sets in BASH_VERSION. Under plain sh (SSM's aws:runShellScript may ignore the shebang) the scripts
 * re-run themselves with bash; with no bash on PATH they refuse.
 */
describe("bash version: every runbook script refuses bash < 5 on one line, exit 4", () => {
  const scripts = [PROBE, LEAK_WATCH, KILL, RESTART, HEALTH].map((path) => [relative(REPO, path), path]);
  const dash = spawnSync("bash", ["-c", "command -v dash"], { encoding: "utf8" }).stdout.trim();
  const noBash = mkdtempSync(join(tmpdir(), "no-bash-"));
  afterAll(() => rmSync(noBash, { recursive: true, force: true }));

  it.each(scripts)("%s: bash 4.4 is refused, naming the version", (_name, script) => {
    const r = run(script, { BASH_VERSION: "4.4.20(1)-release", SSM_port: "8080" }, process.env.PATH, dash);
    expect(r.code).toBe(4);
    const line = r.stderr.trim();
    expect(line.split("\n")).toHaveLength(1);
    expect(line).toMatch(/needs bash >= 5.*this is 4\.4\.20\(1\)-release$/);
    // The record gets it too: the probe's stdout is that line, an action's is result=unsupported-shell.
    if (script === PROBE || script === LEAK_WATCH) expect(r.stdout.trim()).toBe(line);
    else
      expect(r.out).toMatchObject({
        result: "unsupported-shell",
        error: expect.stringMatching(/^needs bash >= 5/),
      });
  });

  it.each(scripts)(
    "%s: run by sh, it re-runs itself with bash (which validates its input)",
    (_name, script) => {
      const r = run(script, { SSM_port: "0x1F" }, process.env.PATH, dash);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toMatch(/SSM_port must be/);
    },
  );

  it.each(scripts)("%s: run by sh with no bash at all, it refuses", (_name, script) => {
    const r = run(script, { SSM_port: "8080" }, noBash, dash);
    expect(r.code).toBe(4);
    expect(r.stderr.trim()).toMatch(/needs bash >= 5.*this is not bash$/);
  });
});
