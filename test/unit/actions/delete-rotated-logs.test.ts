import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseKeyValues } from "../../../lambdas/core/mitigation/action-output.js";
import { REPO, startTicksOf, waitFor } from "../../support/cli.js";

/**
 * delete-rotated-logs.sh as SSM would run it (bash, root, inputs as SSM_* variables) on a real folder: a
 * real process holds its live logs open, and the folder holds rotated logs, a planted symlink, another
 * user's file, a rotated-looking file another process has open, a subfolder and other files.
 */
const SCRIPT = join(REPO, "runbooks/actions/delete-rotated-logs.sh");
const root = mkdtempSync(join(tmpdir(), "rotated-logs-"));
const dir = join(root, "logs");
const outside = join(root, "secret.txt");
const procs: ChildProcess[] = [];

/** A process in `dir` holding the given files open (fd 3, 4, ...), like a JVM with its live logs. */
async function holder(files: string[]): Promise<{ pid: number; startTicks: string }> {
  const redirects = files.map((f, i) => `exec ${i + 3}>>'${join(dir, f)}'`).join("; ");
  const p = spawn("bash", ["-c", `${redirects}; echo READY; exec sleep 600`], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  procs.push(p);
  await new Promise<void>((resolve) => p.stdout?.once("data", () => resolve()));
  const pid = p.pid ?? 0;
  // `exec sleep` keeps the PID; wait until the fds are there.
  await waitFor("the holder's fds", () => existsSync(`/proc/${pid}/fd/${files.length + 2}`));
  return { pid, startTicks: startTicksOf(pid) };
}

function run(env: Record<string, string>) {
  const r = spawnSync("bash", [SCRIPT], {
    env: {
      PATH: process.env.PATH ?? "",
      SSM_keepNewest: "2",
      SSM_minUsedPercent: "0",
      SSM_maxFiles: "100",
      SSM_dryRun: "false",
      ...env,
    },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: r.status, out: parseKeyValues(r.stdout), stdout: r.stdout, stderr: r.stderr };
}

const ROTATED = [
  "requests.log.1",
  "requests.log.2",
  "requests.log.3",
  "app.log.4.gz",
  "app-2026-12-01.1.log.gz",
  "app.log-20261130",
  "requests.log.4",
];
let app: { pid: number; startTicks: string };

/** The script run on the app (its PID and start time) and its log folder; `env` overrides any input. */
function runOnApp(env: Record<string, string> = {}) {
  return run({ SSM_pid: String(app.pid), SSM_startTicks: app.startTicks, SSM_logDir: dir, ...env });
}

beforeAll(async () => {
  mkdirSync(join(dir, "archive"), { recursive: true });
  writeFileSync(outside, "root's file, never to be deleted\n");
  for (const f of ["app.log", "requests.log", "notes.txt", "held.log.9", "other.log.5", "archive/old.log.1"])
    writeFileSync(join(dir, f), `${f}\n`);
  // Rotated logs, oldest first (mtimes an hour apart).
  ROTATED.forEach((f, i) => {
    writeFileSync(join(dir, f), "x".repeat(4096));
    const t = Date.now() / 1000 - (ROTATED.length - i) * 3600;
    utimesSync(join(dir, f), t, t);
  });
  symlinkSync(outside, join(dir, "planted.log.7"));
  chownSync(join(dir, "other.log.5"), 65534, 65534);
  app = await holder(["app.log", "requests.log"]);
  // Another process has a rotated-looking file open (a tail -f, a shipper): never deleted.
  await holder(["held.log.9"]);
});

afterAll(() => {
  for (const p of procs) p.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

describe("delete-rotated-logs.sh", () => {
  it("refuses a process that is not the one diagnosed (another start time): nothing deleted", () => {
    const r = runOnApp({ SSM_startTicks: "1" });
    expect(r.code).toBe(3);
    expect(r.out.result).toBe("refused-target");
    expect(readdirSync(dir)).toEqual(expect.arrayContaining(ROTATED));
  });

  it("refuses a folder the process has no file open in (not its log folder)", () => {
    const r = runOnApp({ SSM_logDir: join(dir, "archive") });
    expect(r.code).toBe(3);
    expect(r.out.error).toMatch(/has no file open in .*archive/);
    expect(existsSync(join(dir, "archive/old.log.1"))).toBe(true);
  });

  it("does nothing while the filesystem is below minUsedPercent", () => {
    const r = runOnApp({ SSM_minUsedPercent: "100" });
    expect(r.out.result).toBe("nothing-to-do");
    expect(r.out.error).toMatch(/below 100%: nothing deleted/);
  });

  it("refuses more files than maxFiles, and lists only in a dry run", () => {
    const many = runOnApp({ SSM_maxFiles: "2" });
    expect(many.out.result).toBe("refused-blast-radius");
    const dry = runOnApp({ SSM_dryRun: "true" });
    expect(dry.out.result).toBe("dry-run");
    expect(dry.stdout).toContain("would=requests.log.1");
    expect(readdirSync(dir)).toEqual(expect.arrayContaining(ROTATED));
  });

  it("deletes the oldest rotated logs of the JVM's user, keeps the newest two, the live logs and everything else", () => {
    const r = runOnApp();
    expect(r.code).toBe(0);
    expect(r.out).toMatchObject({
      result: "ok",
      candidates: "7",
      keptNewest: "2",
      deleted: "5",
      skippedOpen: "1",
      skippedOwner: "1",
    });
    const left = readdirSync(dir).sort();
    expect(left).toEqual(
      [
        "app.log",
        "requests.log",
        "notes.txt",
        "held.log.9",
        "other.log.5",
        "archive",
        "planted.log.7",
        "app.log-20261130",
        "requests.log.4",
      ].sort(),
    );
    // The planted symlink's target is untouched; the subfolder too.
    expect(readFileSync(outside, "utf8")).toContain("never to be deleted");
    expect(existsSync(join(dir, "archive/old.log.1"))).toBe(true);
    expect(Number(r.out.freedKb)).toBe(20);
  });

  it("finds the folder through a symlink to it, and then has nothing left to delete", () => {
    const link = join(root, "logs-link");
    symlinkSync(dir, link);
    const r = runOnApp({ SSM_logDir: link });
    expect(r.out.dir).toBe(dir);
    expect(r.out.result).toBe("nothing-to-do");
  });

  it("rejects a log folder with a .. component before anything is read", () => {
    const r = runOnApp({ SSM_logDir: `${dir}/../logs` });
    expect(r.code).toBe(2);
    expect(r.out.result).toBe("invalid-input");
  });
});
