import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

/**
 * The host side of the lab's process-down and disk-full modes (lab/java/ProcessDiskModes.java): what
 * each needs from the host before the JVM starts, and what `lab down` gives back.
 *
 * - process-oom-killed: a memory cgroup (cgroup v1, /sys/fs/cgroup/memory) with a 192 MiB limit and no
 *   swap, the JVM started in it with -Xmx512m: the kernel's OOM killer kills it, for real.
 * - process-crashed: -XX:+CrashOnOutOfMemoryError (no core file); started in / as `nobody`, like a
 *   systemd service without WorkingDirectory: the JVM cannot write its crash file there and writes it to
 *   /tmp, where the probe looks.
 * - process-exited: nothing (GET /api/shutdown makes it exit with status 0).
 * - disk-full: a 48 MiB tmpfs mounted on `<lab dir>/logs`, holding the app's log (its stdout) and its
 *   rolled request logs.
 * Everything is named after the lab's port, so `releaseMode` finds it again without any other state.
 */
export const PROCESS_DISK_MODES = [
  "process-oom-killed",
  "process-crashed",
  "process-exited",
  "disk-full",
] as const;
export type ProcessDiskMode = (typeof PROCESS_DISK_MODES)[number];

const CGROUP_ROOT = "/sys/fs/cgroup/memory";
export const OOM_LIMIT_MB = 192;
export const DISK_FULL_TMPFS_MB = 48;

export interface ModeSetup {
  /** JVM flags after the lab's own (a later -Xmx wins). */
  readonly jvmArgs: readonly string[];
  /** LabApp arguments. */
  readonly appArgs: readonly string[];
  /** Shell run before `exec java` (joins the cgroup, no core files). */
  readonly shellPrefix: string;
  readonly cwd: string | null;
  readonly logPath: string | null;
}

const NONE: ModeSetup = { jvmArgs: [], appArgs: [], shellPrefix: "", cwd: null, logPath: null };

/** The user the JVM runs as when `lab up` names none (resolved before anything is prepared). */
export function modeUser(mode: string): string | null {
  return mode === "process-crashed" ? "nobody" : null;
}

export function isProcessDiskMode(mode: string): mode is ProcessDiskMode {
  return (PROCESS_DISK_MODES as readonly string[]).includes(mode);
}

const cgroupOf = (port: number) => path.join(CGROUP_ROOT, `runbook-lab-${port}`);
const tmpfsOf = (labDir: string) => path.join(labDir, "logs");

function run(cmd: string, args: string[]): string | null {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 30_000 });
  return r.status === 0 ? null : (r.stderr || r.stdout || `exit ${r.status}`).trim();
}

function mounted(dir: string): boolean {
  const want = path.resolve(dir);
  return readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .some((l) => l.split(" ")[1] === want);
}

/** Prepares the host for `mode` (a no-op for other modes); throws with one clear line when it cannot. */
export function prepareMode(mode: string, labDir: string, port: number): ModeSetup {
  if (!isProcessDiskMode(mode)) return NONE;
  switch (mode) {
    case "process-oom-killed": {
      const cg = cgroupOf(port);
      if (!existsSync(path.join(CGROUP_ROOT, "cgroup.procs")))
        throw new Error(`${mode} needs cgroup v1's memory controller at ${CGROUP_ROOT} (as root)`);
      if (!existsSync(cg)) mkdirSync(cg);
      const limit = String(OOM_LIMIT_MB * 1024 * 1024);
      writeFileSync(path.join(cg, "memory.limit_in_bytes"), limit);
      // No swap to escape to: the limit is the memory.
      if (existsSync(path.join(cg, "memory.memsw.limit_in_bytes")))
        writeFileSync(path.join(cg, "memory.memsw.limit_in_bytes"), limit);
      return { ...NONE, jvmArgs: ["-Xmx512m"], shellPrefix: `echo $$ > ${cg}/cgroup.procs && ` };
    }
    case "process-crashed":
      return {
        ...NONE,
        jvmArgs: ["-Xmx96m", "-XX:+CrashOnOutOfMemoryError", "-XX:-CreateCoredumpOnCrash"],
        shellPrefix: "ulimit -c 0 && ",
        cwd: "/",
      };
    case "process-exited":
      return NONE;
    case "disk-full": {
      const mnt = tmpfsOf(labDir);
      mkdirSync(mnt, { recursive: true });
      if (!mounted(mnt)) {
        const err = run("mount", [
          "-t",
          "tmpfs",
          "-o",
          `size=${DISK_FULL_TMPFS_MB}m,mode=0755`,
          "tmpfs",
          mnt,
        ]);
        if (err) throw new Error(`${mode} needs to mount a tmpfs on ${mnt} (as root): ${err}`);
      }
      return { ...NONE, appArgs: ["--log-dir", mnt], logPath: path.join(mnt, "app.log") };
    }
  }
}

/**
 * Gives back what `prepareMode` took on this port: the tmpfs, the cgroup, the crash file of the lab's own
 * JVM. By name, whatever mode the lab is in now: a restart rung may have started it again in another mode.
 */
export function releaseMode(state: { labDir: string; port: number; pid: number; uid?: number }): void {
  const mnt = tmpfsOf(state.labDir);
  if (mounted(mnt) && run("umount", [mnt]) !== null) run("umount", ["-l", mnt]);
  const cg = cgroupOf(state.port);
  if (existsSync(cg)) {
    try {
      rmdirSync(cg);
    } catch {
      // a process still in it: lab down stopped ours; left for the next down
    }
  }
  const crash = `/tmp/hs_err_pid${state.pid}.log`;
  const owner = existsSync(crash) ? statSync(crash).uid : null;
  if (owner !== null && (owner === state.uid || owner === process.getuid?.())) rmSync(crash, { force: true });
}

/** What `lab load` sends in each mode: the path and how many requests at most. */
export function modeLoad(mode: ProcessDiskMode): { path: string; count: number } {
  switch (mode) {
    case "process-oom-killed":
    case "process-crashed":
      return { path: "/api/hog?mb=16", count: 200 };
    case "process-exited":
      return { path: "/api/shutdown", count: 1 };
    case "disk-full":
      return { path: "/api/report", count: 1000 };
  }
}
