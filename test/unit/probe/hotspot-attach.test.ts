import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseProbeOutput } from "../../../lambdas/core/parsers/index.js";
import { readRunbookScript } from "../../../lambdas/workflows/runbook-files.js";
import { documentScript } from "../../../lib/document-script.js";
import { ROOT, runProbe, startChild, stopChild } from "./probe-harness.js";

/**
 * The probe's direct HotSpot attach (runbooks/lib/hotspot-attach.sh), against real JVMs of the default
 * JDK: it starts the listener of a JVM that has none the way jcmd does, and it refuses what jcmd would not
 * notice (a process that SIGQUIT would end, a process that is not the one diagnosed, a socket another
 * process serves). Each JVM answers "pong" to a line on stdin: that is how a test knows it still lives.
 */
const LIB = resolve(ROOT, "runbooks/lib/hotspot-attach.sh");
const PYTHON = "/usr/bin/python3";

let dir = "";
const children: ChildProcess[] = [];

/** Runs the client as the probe does: the lib sourced, `python3 -I -S -c`, the commands on stdin. */
function attach(pid: number, start: string, commands: string[], listenMs = 5000) {
  const script = `. "$1"; shift; printf '%s\\n' "$@" | ${PYTHON} -I -S -c "$HOTSPOT_ATTACH_PY" ${pid} ${start} ${listenMs}`;
  return spawnSync("bash", ["-c", script, "attach", LIB, ...commands], { encoding: "utf8", timeout: 60_000 });
}

function startTime(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] as string;
}

/** Pingable.java in the test folder (readable by others: one test runs it as another uid). */
function pingableSource(): string {
  const src = join(dir, "Pingable.java");
  writeFileSync(
    src,
    `public class Pingable { public static void main(String[] a) throws Exception {
       System.out.println("READY"); System.out.flush();
       java.io.BufferedReader r = new java.io.BufferedReader(new java.io.InputStreamReader(System.in));
       while (r.readLine() != null) { System.out.println("pong"); System.out.flush(); } } }`,
  );
  return src;
}

/** A JVM that prints READY, then "pong" for each line it reads. Its output is kept in `out`. */
async function pingableJvm(
  extra: string[],
): Promise<{ child: ChildProcess; pid: number; out: () => string }> {
  const src = pingableSource();
  const child = spawn("java", ["-Xmx32m", ...extra, src], { cwd: dir, stdio: ["pipe", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  await new Promise<void>((ok, fail) => {
    const t = setTimeout(() => fail(new Error(`JVM not ready: ${out}`)), 60_000);
    child.stdout.on("data", () => {
      if (out.includes("READY")) {
        clearTimeout(t);
        ok();
      }
    });
    child.once("exit", (c, s) => fail(new Error(`JVM exited (${c ?? s}) before READY: ${out}`)));
  });
  return { child, pid: child.pid as number, out: () => out };
}

/** Resolves when the JVM answers a ping; rejects if it exits first (it was ended). */
function stillAlive(child: ChildProcess, out: () => string): Promise<void> {
  const before = out().split("pong").length;
  return new Promise((ok, fail) => {
    const onExit = (c: number | null, s: string | null) => fail(new Error(`the process ended (${c ?? s})`));
    child.once("exit", onExit);
    const onData = () => {
      if (out().split("pong").length > before) {
        child.off("exit", onExit);
        child.stdout?.off("data", onData);
        ok();
      }
    };
    child.stdout?.on("data", onData);
    child.stdin?.write("ping\n");
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "hotspot-attach-"));
});
afterAll(async () => {
  for (const c of children) await stopChild(c);
  rmSync(dir, { recursive: true, force: true });
});

describe("direct attach to a JVM that has no attach listener yet", () => {
  let jvm: Awaited<ReturnType<typeof pingableJvm>>;
  beforeAll(async () => {
    jvm = await pingableJvm([]);
  }, 90_000);

  it("refuses a PID whose start time is not the one diagnosed, and sends it nothing", async () => {
    const r = attach(jvm.pid, "1", ["Thread.print"]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      `direct attach: pid ${jvm.pid} is not the process diagnosed any more (its start time changed)`,
    );
    // No SIGQUIT was sent: the listener was not started, and no trigger file was left.
    expect(existsSync(`/tmp/.java_pid${jvm.pid}`)).toBe(false);
    expect(existsSync(join(dir, `.attach_pid${jvm.pid}`))).toBe(false);
    await stillAlive(jvm.child, jvm.out);
  });

  it("starts the listener (no thread dump on the JVM's stdout), runs each command in order, and removes its trigger file", async () => {
    const r = attach(jvm.pid, startTime(jvm.pid), ["Thread.print", "GC.class_histogram"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const threads = r.stdout.indexOf("Full thread dump");
    const histogram = r.stdout.search(/^ *num +#instances +#bytes +class name/m);
    expect(threads).toBeGreaterThanOrEqual(0);
    expect(histogram).toBeGreaterThan(threads);
    expect(r.stdout).toMatch(/^"main" #1 /m);
    expect(r.stdout).toMatch(/^Total +\d+ +\d+$/m);
    // SIGQUIT with the trigger file present starts the listener instead of printing a dump.
    expect(jvm.out()).not.toContain("Full thread dump");
    expect(existsSync(join(dir, `.attach_pid${jvm.pid}`))).toBe(false);
    expect(existsSync(`/tmp/.attach_pid${jvm.pid}`)).toBe(false);
    await stillAlive(jvm.child, jvm.out);
  });

  it("says what the JVM answered to a command it refuses", () => {
    const r = attach(jvm.pid, startTime(jvm.pid), ["No.such_command"]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(
      /^direct attach: the JVM answered -?\d+ to No\.such_command: .*Unknown diagnostic command/,
    );
  });
});

describe("processes SIGQUIT would end", () => {
  it("a JVM started with -Xrs: attached through the listener it starts at launch; once a /tmp cleaner removed its socket, not signalled, and it lives", async () => {
    const jvm = await pingableJvm(["-Xrs"]);
    const safeCheck = () =>
      spawnSync(
        "bash",
        ["-c", `. "$1"; hotspot_attach_safe ${jvm.pid}; echo "rc=$? $ATTACH_UNSAFE_WHY"`, "x", LIB],
        {
          encoding: "utf8",
        },
      ).stdout.trim();
    // HotSpot starts the listener at launch under -Xrs (it cannot be started by a signal later).
    const sock = `/tmp/.java_pid${jvm.pid}`;
    expect(existsSync(sock)).toBe(true);
    expect(safeCheck()).toBe("rc=0");
    const ok = attach(jvm.pid, startTime(jvm.pid), ["Thread.print"]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain("Full thread dump");
    // systemd-tmpfiles and tmpwatch remove old files from /tmp, the socket too: a SIGQUIT now would end it.
    rmSync(sock);
    expect(safeCheck()).toBe(
      `rc=1 pid ${jvm.pid} does not catch SIGQUIT (started with -Xrs?) and has no attach listener yet: the SIGQUIT that starts one would end it`,
    );
    const r = attach(jvm.pid, startTime(jvm.pid), ["Thread.print"]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      `direct attach: pid ${jvm.pid} does not catch SIGQUIT (-Xrs?): not signalled, SIGQUIT would end it`,
    );
    await stillAlive(jvm.child, jvm.out);
  }, 90_000);

  it("a process that serves another's socket name is refused by its kernel-given PID, before any command is sent", async () => {
    // The target: a process of ours that catches nothing. The impostor: a UNIX socket named after the
    // target's PID in /tmp, served by another process that records whatever it is sent.
    const target = await startChild("bash", ["-c", "echo READY; exec sleep 120"], /READY/);
    children.push(target);
    const pid = target.pid as number;
    const sock = `/tmp/.java_pid${pid}`;
    const got = join(dir, "impostor-got");
    const impostor = await startChild(
      PYTHON,
      [
        "-c",
        `import os, socket
s = socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(sock)}); os.chmod(${JSON.stringify(sock)}, 0o600); s.listen(1)
print("READY", flush=True)
c, _ = s.accept(); open(${JSON.stringify(got)}, "wb").write(c.recv(4096)); c.close()`,
      ],
      /READY/,
    );
    children.push(impostor);
    try {
      const r = attach(pid, startTime(pid), ["Thread.print"]);
      expect(r.status).toBe(1);
      expect(r.stderr.trim()).toBe(
        `direct attach: refused: /proc/${pid}/root/tmp/.java_pid${pid} is served by pid ${impostor.pid}, not by pid ${pid}`,
      );
      // The connection closed without a byte: the impostor wrote an empty file when it saw it close.
      await new Promise<void>((ok) =>
        impostor.exitCode !== null ? ok() : impostor.once("exit", () => ok()),
      );
      expect(readFileSync(got).length).toBe(0);
    } finally {
      rmSync(sock, { force: true });
    }
  }, 60_000);
});

describe("the probe (root) and a JVM of another user", () => {
  it("a uid with no passwd entry (a container's user): attached as that uid, with no groups to load", async () => {
    const uid = 54_321;
    const src = pingableSource();
    chmodSync(dir, 0o755);
    const child = spawn(
      "setpriv",
      [`--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", "java", "-Xmx32m", src],
      {
        cwd: "/",
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    children.push(child);
    await new Promise<void>((ok, fail) => {
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("READY")) ok();
      });
      child.once("exit", (c) => fail(new Error(`JVM exited (${c}) before READY: ${out}`)));
    });
    // Nothing listens on port 1: the PID is given, as `--pid` does.
    const run = runProbe({ port: "1", pid: String(child.pid) });
    expect(run.status, run.stderr).toBe(0);
    const r = parseProbeOutput(run.stdout, { target: "local" });
    if (!r.ok) throw r.error;
    expect(r.value.process).toMatchObject({ status: "ok", data: { user: String(uid) } });
    expect(r.value.classHistogram).toMatchObject({ status: "ok", data: { attachClient: "direct" } });
    expect(r.value.threads.status).toBe("ok");
  }, 90_000);
});

describe("the client's code", () => {
  it("reaches the host as written: the SSM document of each script that includes it carries it unchanged", () => {
    const code = /^HOTSPOT_ATTACH_PY='([^']*)'$/m.exec(readFileSync(LIB, "utf8"))?.[1];
    expect(code).toContain("SO_PEERCRED");
    for (const script of ["probes/api-unreachable.sh", "probes/leak-watch.sh", "actions/heap-dump.sh"]) {
      const doc = documentScript(readRunbookScript(resolve(ROOT, "runbooks"), script), script);
      expect(/^HOTSPOT_ATTACH_PY='([^']*)'$/m.exec(doc)?.[1], script).toBe(code);
    }
  });
});
