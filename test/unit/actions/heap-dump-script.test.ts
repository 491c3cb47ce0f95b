import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseKeyValues } from "../../../lambdas/core/mitigation/action-output.js";
import { REPO, startTicksOf } from "../../support/cli.js";

/**
 * runbooks/actions/heap-dump.sh as SSM runs it (bash, SSM_* inputs, root), against a real JVM running as
 * `nobody` (docs/security.md, "Heap dumps"): the dump is written by the JVM's user into a folder handed to
 * it for the dump only, and ends root-only. No port.
 */
const SCRIPT = join(REPO, "runbooks/actions/heap-dump.sh");
const NOBODY = 65534;
let dir = "";
let jvm: ChildProcess | undefined;
let pid = 0;
let ticks = "";

function runScript(env: Record<string, string>) {
  const r = spawnSync("bash", [SCRIPT], {
    env: { PATH: process.env.PATH ?? "", ...env },
    encoding: "utf8",
    timeout: 120_000,
  });
  return { code: r.status, out: parseKeyValues(r.stdout), stdout: r.stdout, stderr: r.stderr };
}

/** Hold.java as `nobody` (or `uid`) with the given JVM options, once it printed READY. */
async function holdAsNobody(options: string[], uid = NOBODY): Promise<ChildProcess> {
  const child = spawn(
    "setpriv",
    [`--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", "java", ...options, join(dir, "src/Hold.java")],
    { stdio: ["ignore", "pipe", "inherit"], cwd: "/" },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (b: Buffer) => b.toString().includes("READY") && resolve());
    child.once("exit", (code) =>
      reject(new Error(`the JVM (${options.join(" ")}) exited (${code}) before READY`)),
    );
  });
  return child;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "heap-dump-"));
  // The JVM's user passes through the test folder (as through /var/tmp) to its dump folder.
  chmodSync(dir, 0o711);
  const src = join(dir, "src");
  mkdirSync(src, { mode: 0o755 });
  chmodSync(src, 0o755);
  writeFileSync(
    join(src, "Hold.java"),
    `public class Hold {
       static final java.util.List<long[]> KEEP = new java.util.ArrayList<>();
       public static void main(String[] a) throws Exception {
         for (int i = 0; i < 200; i++) KEEP.add(new long[1000]);
         System.out.println("READY");
         Thread.sleep(600_000);
       }
     }`,
    { mode: 0o644 },
  );
  jvm = await holdAsNobody(["-Xmx64m", "-XX:+UseSerialGC"]);
  pid = jvm.pid ?? 0;
  ticks = String(startTicksOf(pid));
}, 60_000);

afterAll(async () => {
  if (jvm && jvm.exitCode === null) {
    const done = new Promise((r) => jvm?.once("exit", r));
    jvm.kill("SIGKILL");
    await done;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe("heap-dump.sh", () => {
  it("dumps a JVM of another user into a root-only file, in a folder of its own under a 0711 base", () => {
    const base = join(dir, "dumps");
    const r = runScript({
      SSM_pid: String(pid),
      SSM_startTicks: ticks,
      SSM_dumpDir: base,
      SSM_freeSpaceFactor: "1.2",
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.out.result, r.stdout).toBe("ok");
    expect(r.out.jvmUser).toBe("nobody");
    expect(r.out.heapUsedFrom).toBe("GC.heap_info");
    expect(Number(r.out.heapUsedBytes)).toBeGreaterThan(1_600_000);
    const file = r.out.file ?? "";
    expect(file).toMatch(new RegExp(`^${base}/${pid}-${ticks}-\\d{8}T\\d{6}Z/heap\\.hprof$`));
    const st = statSync(file);
    expect(Number(r.out.bytes)).toBe(st.size);
    expect(st.size).toBeGreaterThan(1_600_000);
    expect({ uid: st.uid, mode: st.mode & 0o777 }).toEqual({ uid: 0, mode: 0o600 });
    const folder = statSync(join(file, ".."));
    expect({ uid: folder.uid, mode: folder.mode & 0o777 }).toEqual({ uid: 0, mode: 0o700 });
    expect(statSync(base).mode & 0o777).toBe(0o711);
    // Not a byte of it is readable by the JVM's user.
    const read = spawnSync("setpriv", [
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      "--clear-groups",
      "head",
      "-c",
      "1",
      file,
    ]);
    expect(read.status).not.toBe(0);
  }, 120_000);

  it("refuses a base reached through a symlink, or below a folder others can write", () => {
    const real = join(dir, "real");
    mkdirSync(real, { mode: 0o700 });
    symlinkSync(real, join(dir, "link"));
    const viaLink = runScript({
      SSM_pid: String(pid),
      SSM_startTicks: ticks,
      SSM_dumpDir: join(dir, "link", "dumps"),
    });
    expect(viaLink.out.result).toBe("failed");
    expect(viaLink.out.error).toBe(
      `${join(dir, "link")} is a symbolic link: the dump folder is never reached through one`,
    );
    const open = join(dir, "open");
    mkdirSync(open);
    chmodSync(open, 0o777);
    const belowOpen = runScript({
      SSM_pid: String(pid),
      SSM_startTicks: ticks,
      SSM_dumpDir: join(open, "dumps"),
    });
    expect(belowOpen.out.result).toBe("failed");
    expect(belowOpen.out.error).toBe(`${open} is writable by group or others (mode 777)`);
  });

  it("refuses a process that is not the one diagnosed (another start time), changing nothing", () => {
    const base = join(dir, "never");
    const r = runScript({
      SSM_pid: String(pid),
      SSM_startTicks: String(Number(ticks) + 1),
      SSM_dumpDir: base,
    });
    expect(r.code).toBe(3);
    expect(r.out.result).toBe("refused-target");
    expect(() => statSync(base)).toThrow();
  });

  it("refuses when the free space is below the factor times the heap in use", () => {
    // A 1 MiB tmpfs: less than 1.2 x the JVM's heap in use.
    const small = join(dir, "small");
    mkdirSync(small, { mode: 0o711 });
    const mount = spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m,mode=0711", "tmpfs", small]);
    expect(mount.status, `mount tmpfs: ${mount.stderr}`).toBe(0);
    try {
      const r = runScript({ SSM_pid: String(pid), SSM_startTicks: ticks, SSM_dumpDir: join(small, "dumps") });
      expect(r.out.result).toBe("refused-space");
      expect(r.out.error).toMatch(
        /^only \d+ bytes free at .*, below 1\.2 x the \d+ bytes of heap in use \(GC\.heap_info\): no dump$/,
      );
      expect(r.out.file).toBeUndefined();
    } finally {
      spawnSync("umount", [small]);
    }
  });

  it("dumps a JVM of a uid with no passwd entry (a container's user): jcmd as that uid, with no groups to load", async () => {
    const uid = 54_321;
    expect(
      spawnSync("getent", ["passwd", String(uid)]).status,
      `uid ${uid} has a passwd entry here`,
    ).not.toBe(0);
    const other = await holdAsNobody(["-Xmx32m", "-XX:+UseSerialGC"], uid);
    try {
      const opid = other.pid ?? 0;
      const r = runScript({
        SSM_pid: String(opid),
        SSM_startTicks: String(startTicksOf(opid)),
        SSM_dumpDir: join(dir, "nameless"),
        SSM_freeSpaceFactor: "1.2",
      });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.out.result, r.stdout).toBe("ok");
      // The uid itself for its name: there is no name to look its groups up by.
      expect(r.out.jvmUser).toBe(String(uid));
      const st = statSync(r.out.file ?? "");
      expect({ uid: st.uid, mode: st.mode & 0o777 }).toEqual({ uid: 0, mode: 0o600 });
      expect(st.size).toBeGreaterThan(1_000_000);
    } finally {
      const done = new Promise((r) => other.once("exit", r));
      other.kill("SIGKILL");
      await done;
    }
  }, 90_000);

  it("refuses a JVM that SIGQUIT would end (-Xrs, its listener's socket removed from /tmp), which lives on", async () => {
    const xrs = await holdAsNobody(["-Xrs", "-Xmx32m"]);
    try {
      const xpid = xrs.pid ?? 0;
      // HotSpot starts the listener at launch under -Xrs; a /tmp cleaner removes its socket.
      rmSync(`/tmp/.java_pid${xpid}`);
      const base = join(dir, "xrs");
      const r = runScript({
        SSM_pid: String(xpid),
        SSM_startTicks: String(startTicksOf(xpid)),
        SSM_dumpDir: base,
      });
      expect(r.code).toBe(3);
      expect(r.out.result).toBe("refused-target");
      expect(r.out.error).toBe(
        `pid ${xpid} does not catch SIGQUIT (started with -Xrs?) and has no attach listener yet: the SIGQUIT that starts one would end it`,
      );
      expect(() => statSync(base)).toThrow();
      // Nothing signalled it: it still runs (a SIGQUIT would have ended it before the script returned).
      expect(xrs.exitCode).toBe(null);
      expect(xrs.signalCode).toBe(null);
      expect(readFileSync(`/proc/${xpid}/stat`, "utf8")).toMatch(/\) [SRD] /);
    } finally {
      const done = new Promise((r) => xrs.once("exit", r));
      xrs.kill("SIGKILL");
      await done;
    }
  }, 90_000);
});
