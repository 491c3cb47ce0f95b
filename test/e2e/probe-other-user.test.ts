import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAlive, type LabState, labDown, labLoad, labUp } from "../../lab/index.js";
import { parseProbeOutput } from "../../lambdas/core/parsers/index.js";
import { REPO, runCli, waitIdle } from "../support/cli.js";

/**
 * The probe against a JVM that runs as ANOTHER user than the probe, as on EC2, where the probe runs
 * as root through SSM and the service as e.g. `tomcat`: the probe must run jcmd/jstack/jstat as the
 * JVM's user (runuser), since JDK 8 refuses an attach from root and jstat reads the JVM's
 * hsperfdata as its user. And a probe that is not root cannot attach at all: it must say why.
 *
 * Needs root. The JVM runs as the system user `runbook-lab`, created here if missing (idempotent:
 * `useradd --system --no-create-home`, no login shell, no home); the unprivileged probe runs as
 * `nobody`, a third user. Port 18270.
 */
const PORT = 18270;
const JVM_USER = "runbook-lab";
const PROBE_USER = "nobody";
const SESSIONS = 300;
const PROBE = join(REPO, "runbooks/probes/api-unreachable.sh");
const isRoot = process.getuid?.() === 0;

function uidOf(user: string): number | null {
  const r = spawnSync("getent", ["passwd", user], { encoding: "utf8" });
  const uid = Number((r.stdout ?? "").split(":")[2]);
  return r.status === 0 && Number.isInteger(uid) ? uid : null;
}

/** Creates the lab's system user once; a concurrent creation ("already exists", exit 9) is fine. */
function ensureUser(user: string): number {
  if (uidOf(user) === null) {
    const r = spawnSync(
      "useradd",
      ["--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", user],
      { encoding: "utf8" },
    );
    if (r.status !== 0 && r.status !== 9) throw new Error(`useradd ${user} failed: ${r.stderr}`);
  }
  const uid = uidOf(user);
  if (uid === null) throw new Error(`no user ${user} after useradd`);
  return uid;
}

/** The probe script run as `user` (not root), as `bash` would run it under SSM. */
function probeAs(user: string, env: Record<string, string>) {
  const started = Date.now();
  const r = spawnSync(
    "runuser",
    ["-u", user, "--", "env", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), "bash", PROBE],
    { cwd: "/tmp", encoding: "utf8", timeout: 60_000 },
  );
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", ms: Date.now() - started };
}

function procUid(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("Uid:"));
  return Number(line?.split(/\s+/)[1]);
}

function labProcesses(): number[] {
  const r = spawnSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" });
  return (
    (r.stdout ?? "")
      .split("\n")
      // The JVM carries `--port N` on its command line; a holder carries its JSON config (`"port":N,`).
      .filter(
        (l) =>
          (/LabApp/.test(l) && l.includes(`--port ${PORT}`)) ||
          (/holder\.ts/.test(l) && l.includes(`"port":${PORT},`)),
      )
      .map((l) => Number(l.trim().split(/\s+/)[0]))
  );
}

interface Section<T> {
  status: string;
  reason?: string;
  data?: T;
}
interface DiagnoseJson {
  rootCause: { id: string; confidence: number };
  findings: Array<{ id: string }>;
  evidence: {
    process: Section<{ pid: number; user: string; uid: number }>;
    classHistogram: Section<{ tool: string; watched: Array<{ className: string; instances: number }> }>;
    threads: Section<{ total: number }>;
    heap: Section<unknown>;
    fds: Section<{ open: number; limitSoft: number }>;
    sockets: Section<{ established: number }>;
    health: { outcome: string };
  };
}

describe("probe against a JVM of another user", () => {
  // Not skipped when not root: a skipped test would hide that this path went untested.
  it("runs as root (the setup script and CI do)", () => {
    expect(isRoot, "this suite starts a JVM as another user and needs root").toBe(true);
  });

  let lab: LabState;
  let jvmUid: number;

  beforeAll(async () => {
    jvmUid = ensureUser(JVM_USER);
    await labDown({ port: PORT });
    lab = await labUp({ mode: "ws-leak", port: PORT, fdLimit: 4096, keepAliveMs: 1000, user: JVM_USER });
    const load = await labLoad({ port: PORT, sessions: SESSIONS });
    expect(load.opened).toBe(SESSIONS);
    // Idle beyond the 2 s threshold the diagnosis is told about.
    await waitIdle(PORT, 2100, { share: 0.95 });
  }, 90_000);

  afterAll(async () => {
    await labDown({ port: PORT });
  }, 60_000);

  it("the lab's JVM runs as that user under its fd limit, and the state has the JVM's own PID", () => {
    expect(lab.user).toBe(JVM_USER);
    expect(lab.uid).toBe(jvmUid);
    expect(readFileSync(`/proc/${lab.pid}/cmdline`, "utf8")).toContain("LabApp");
    expect(readFileSync(`/proc/${lab.pid}/comm`, "utf8").trim()).toBe("java");
    expect(procUid(lab.pid)).toBe(jvmUid);
    expect(readFileSync(`/proc/${lab.pid}/limits`, "utf8")).toMatch(/^Max open files\s+4096\s+4096\s/m);
  });

  it("diagnose as root attaches as the JVM's user: histogram, threads and heap, websocket-session-leak", async () => {
    const r = await runCli(
      [
        "diagnose",
        "--port",
        String(PORT),
        "--output",
        "json",
        "--idle-threshold-seconds",
        "2",
        "--threshold",
        "httpKeepAliveMs=1000",
      ],
      { timeoutMs: 60_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as DiagnoseJson;
    const ev = d.evidence;

    expect(ev.process.status).toBe("ok");
    expect(ev.process.data?.pid).toBe(lab.pid);
    expect(ev.process.data?.user).toBe(JVM_USER);
    expect(ev.process.data?.uid).toBe(jvmUid);

    expect(ev.classHistogram.status, ev.classHistogram.reason).toBe("ok");
    expect(ev.sockets.status).toBe("ok");
    const established = ev.sockets.data?.established ?? 0;
    expect(established).toBeGreaterThanOrEqual(SESSIONS);
    const ws = ev.classHistogram.data?.watched.find(
      (w) => w.className === "org.apache.tomcat.websocket.WsSession",
    );
    expect(ws?.instances ?? 0).toBeGreaterThanOrEqual(0.9 * established);
    expect(ws?.instances ?? 0).toBeLessThanOrEqual(1.1 * established);

    expect(ev.threads.status, ev.threads.reason).toBe("ok");
    expect(ev.threads.data?.total ?? 0).toBeGreaterThan(0);
    expect(ev.heap.status, ev.heap.reason).toBe("ok");
    expect(ev.fds.status, ev.fds.reason).toBe("ok");
    expect(ev.fds.data?.limitSoft).toBe(4096);

    // 300 sessions under a 4096 limit: the host still answers its health probe. The leak rule does
    // not need the host to be down (WsSession ≈ ESTABLISHED, idle past the threshold: 0.95) and
    // outranks load-balancer-path (priority 90 vs 10), which holds too and stays a finding.
    expect(ev.health.outcome).toBe("ok");
    expect(d.rootCause.id).toBe("websocket-session-leak");
    expect(d.rootCause.confidence).toBeGreaterThanOrEqual(0.9);
    expect(d.findings.map((f) => f.id)).toContain("load-balancer-path");
    console.log(`diagnose of a JVM running as ${JVM_USER}, as root: ${r.ms} ms wall`);
  }, 90_000);

  it("a probe that is not root cannot see or attach to another user's JVM: it says so, sockets stay ok", () => {
    // 1. PID from the listener, as SSM runs it: ss hides another user's socket owner.
    const byPort = probeAs(PROBE_USER, { SSM_port: String(PORT) });
    expect(byPort.status, byPort.stderr).toBe(0);
    const p1 = parseProbeOutput(byPort.stdout, { target: "local" });
    if (!p1.ok) throw p1.error;
    const e1 = p1.value;
    expect(e1.sockets.status).toBe("ok");
    if (e1.sockets.status === "ok") expect(e1.sockets.data.established).toBeGreaterThanOrEqual(SESSIONS);
    expect(e1.listener.status).toBe("ok");
    for (const name of ["process", "fds", "heap", "classHistogram", "threads"] as const) {
      const s = e1[name];
      expect(s.status, name).toBe("unavailable");
      if (s.status === "unavailable") {
        expect(s.reason, name).toMatch(/permission denied/i);
        expect(s.reason, name).toMatch(/another user/);
        expect(s.reason, name).not.toMatch(/no process listens/);
      }
    }

    // 2. With the PID given: the process is seen (its user named), every attach and /proc/PID/fd is refused.
    const byPid = probeAs(PROBE_USER, { SSM_port: String(PORT), SSM_pid: String(lab.pid) });
    expect(byPid.status, byPid.stderr).toBe(0);
    const p2 = parseProbeOutput(byPid.stdout, { target: "local" });
    if (!p2.ok) throw p2.error;
    const e2 = p2.value;
    expect(e2.sockets.status).toBe("ok");
    expect(e2.process.status).toBe("ok");
    if (e2.process.status === "ok") expect(e2.process.data.user).toBe(JVM_USER);
    for (const name of ["fds", "heap", "classHistogram", "threads"] as const) {
      const s = e2[name];
      expect(s.status, name).toBe("unavailable");
      if (s.status === "unavailable") {
        expect(s.reason, name).toMatch(
          /Permission denied|Operation not permitted|not secure|owned by|Could not attach/i,
        );
      }
    }
    console.log(`probe as ${PROBE_USER}: ${byPort.ms} ms (by port), ${byPid.ms} ms (by pid)`);
  }, 90_000);

  it("labDown stops the other user's JVM and the holder, and leaves no process", async () => {
    const pids = [lab.pid, ...labProcesses()];
    // The JVM and the load holder started above are both found (the list cannot be vacuous).
    expect(new Set(pids).size, `lab processes: ${pids.join(", ")}`).toBeGreaterThanOrEqual(2);
    const r = await labDown({ port: PORT });
    expect(r.stopped).toContain(lab.pid);
    for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
    expect(labProcesses()).toEqual([]);
  }, 60_000);
});
