import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isAlive, labDown, labLoad, labUp, probeHealth, readState } from "../../lab/index.js";
import { stopPid } from "../../lab/process.js";
import { type IncidentRecord, incidentRecordSchema } from "../../lambdas/core/incident/schema.js";
import { BIN, incidentIdFrom, runCli, waitIdle } from "../support/cli.js";

/**
 * connection-pool-exhaustion (HikariCP on H2) and the WebSocket leak on Jetty 9.4, against the real lab:
 * `diagnose` with the runbook's defaults (no threshold, idle or log-path option: the first run must be
 * right), then `run`. Ports 20300-20309.
 */
const ports: number[] = [];
const holders: number[] = [];
afterAll(async () => {
  for (const port of ports) await labDown({ port });
  // Traffic holders outlive a restarted lab (the new lab's state does not list them): stopped by PID.
  for (const pid of holders) if (isAlive(pid)) await stopPid(pid, 2000);
}, 60_000);

interface Line {
  text: string;
  field: string;
}
interface DiagnoseJson {
  rootCause: { id: string; summary: string };
  findings: Array<{ id: string; variant: string; evidence: Line[]; caveats: string[] }>;
  ruledOut: Array<{ id: string; evidence: Line[] }>;
  contributing: Array<{ id: string; evidence: Line[] }>;
  evidence: {
    threads: { status: string; data?: { waitingForDbConnection?: number; inDatabaseCalls: number } };
    classHistogram: { status: string; data?: { sessionClasses?: string[] } };
    health: { outcome: string };
  };
}

async function diagnose(port: number, extra: string[] = []): Promise<DiagnoseJson> {
  const r = await runCli(["diagnose", "--port", String(port), "--output", "json", ...extra], {
    timeoutMs: 90_000,
  });
  if (r.code !== 0) throw new Error(`diagnose exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as DiagnoseJson;
}

async function run(port: number, extra: string[]) {
  const out = mkdtempSync(join(tmpdir(), "runbook-pool-"));
  const r = await runCli(
    ["run", "api-unreachable", "--port", String(port), "--out", out, "--mode", "auto", ...extra],
    {
      timeoutMs: 240_000,
    },
  );
  const id = incidentIdFrom(r.stderr);
  const record: IncidentRecord = incidentRecordSchema.parse(
    JSON.parse(readFileSync(join(out, id, "incident.json"), "utf8")),
  );
  const postmortem = readFileSync(join(out, id, "postmortem.md"), "utf8");
  return { ...r, record, postmortem };
}

const ids = (xs: ReadonlyArray<{ id: string }>) => xs.map((x) => x.id);

async function poolLab(mode: "pool-leak" | "pool-slow-db", port: number) {
  ports.push(port);
  const lab = await labUp({ mode, port });
  // Users' traffic goes on in the background for the whole test (a restart does not stop users).
  const load = await labLoad({ port, maxSeconds: 300 });
  if (load.holderPid) holders.push(load.holderPid);
  expect(load.kind).toBe("traffic");
  // The service no longer answers its health check (it checks the database through the pool).
  expect((await probeHealth(port, 2000)).ok).toBe(false);
  return lab;
}

describe("connection-pool-exhaustion against the lab (HikariCP 2.7 on H2)", () => {
  it("a leak: diagnosed on the first run with the defaults, then restarted and verified", async () => {
    const port = 20301;
    const lab = await poolLab("pool-leak", port);

    const d = await diagnose(port);
    expect(d.rootCause.id).toBe("connection-pool-exhaustion");
    const f = d.findings[0];
    expect(f?.variant).toBe("leaked-connections");
    const threads = d.evidence.threads.data;
    expect(threads?.waitingForDbConnection ?? 0).toBeGreaterThanOrEqual(2);
    expect(threads?.inDatabaseCalls).toBe(0);
    expect(f?.evidence.find((l) => l.field === "threads.waitingForDbConnection")?.text).toMatch(
      /^\d+ threads waiting for a pooled database connection/,
    );
    // The database is idle: the slow database is ruled out, with its evidence.
    expect(ids(d.ruledOut)).toEqual(expect.arrayContaining(["slow-database", "websocket-session-leak"]));
    expect(d.ruledOut.find((r) => r.id === "slow-database")?.evidence[0]?.text).toBe(
      "0 request threads in database calls",
    );

    // Its ladder restarts (the lab's start command), then verifies.
    const restart = `node ${BIN} lab up --mode pool-leak --port ${port}`;
    const r = await run(port, ["--restart-command", restart, "--pid", String(lab.pid)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.record.status).toBe("recovered");
    expect(r.record.plan?.ladder.map((a) => a.action)).toEqual(["restart-service", "escalate"]);
    expect(r.record.actions[0]).toMatchObject({ action: "restart-service", status: "applied" });
    expect(isAlive(lab.pid)).toBe(false);
    const newPid = readState(undefined, port)?.pid ?? 0;
    expect(newPid).not.toBe(lab.pid);
    // The postmortem knows the class: its title, and the proof with the figures of the evidence.
    expect(r.postmortem).toContain("Requests waited for a database connection until the pool's time-out");
    expect(r.postmortem).toMatch(/\d+ threads waited in the pool's getConnection while\s+0 request threads/);
    expect(r.postmortem).not.toMatch(/\{[a-zA-Z.]+\}/);
    // The traffic goes on and is answered: the restart returned the connections.
    expect((await probeHealth(port, 5000)).ok).toBe(true);
  }, 300_000);

  it("a slow database: told from a leak, and never restarted (notify only), even with a restart command", async () => {
    const port = 20302;
    const lab = await poolLab("pool-slow-db", port);
    const restart = `node ${BIN} lab up --mode pool-slow-db --port ${port}`;
    const r = await run(port, ["--restart-command", restart, "--pid", String(lab.pid)]);
    const diagnosis = r.record.diagnosis;
    expect(diagnosis?.rootCause.id).toBe("connection-pool-exhaustion");
    expect(diagnosis?.findings[0]?.variant).toBe("slow-database");
    expect(ids(diagnosis?.contributing ?? [])).toContain("slow-database");
    const threads = r.record.evidence.before?.threads;
    expect(threads?.status === "ok" && threads.data.inDatabaseCalls).toBeGreaterThanOrEqual(1);
    expect(r.record.plan?.ladder.map((a) => a.action)).toEqual(["notify-only"]);
    expect(r.record.actions.map((a) => a.action)).toEqual(["notify-only"]);
    expect(r.code).not.toBe(0);
    // The process diagnosed is the process still running.
    expect(isAlive(lab.pid)).toBe(true);
    expect(readState(undefined, port)?.pid).toBe(lab.pid);
  }, 300_000);
});

describe("websocket-session-leak on Jetty 9.4 (its session class comes from the runbook)", () => {
  it("vanished clients: diagnosed with Jetty's session class on the first run; the kill-idle ladder recovers it in place", async () => {
    const port = 20303;
    ports.push(port);
    const lab = await labUp({ mode: "jetty-ws-leak", port, fdLimit: 1024 });
    const first = await labLoad({ port, sessions: 300 });
    expect(first.opened).toBe(300);

    // Below the fd limit the JVM can be attached: the sessions are counted by Jetty's class.
    const d = await diagnose(port);
    expect(d.rootCause.id).toBe("websocket-session-leak");
    expect(d.findings[0]?.variant).toBe("with-histogram-not-idle");
    const lines = d.findings[0]?.evidence ?? [];
    expect(lines.find((l) => l.field === "jvm.wsSessions")?.text).toMatch(
      /^\d+ org\.eclipse\.jetty\.websocket\.common\.WebSocketSession instances/,
    );
    expect(lines.find((l) => l.field === "jvm.wsSessionClass")?.text).toBe(
      "WebSocket session class: org.eclipse.jetty.websocket.common.WebSocketSession",
    );
    expect(d.evidence.classHistogram.data?.sessionClasses).toContain(
      "org.eclipse.jetty.websocket.common.WebSocketSession",
    );
    // Tomcat's bug cannot apply to Jetty's sessions.
    expect(ids(d.ruledOut)).toContain("framework-version");

    // Then to the open-files limit: the API stops answering.
    const second = await labLoad({ port, sessions: 2000 });
    expect(second.stoppedReason).toBe("server-stopped-accepting");
    await waitIdle(port, 2100, { share: 0.95 });
    expect((await probeHealth(port, 2000)).ok).toBe(false);
    // Idle means 2 s here (as in run.test.ts), so the kill rung has sockets to kill within the test.
    const fast = ["--idle-threshold-seconds", "2", "--threshold", "httpKeepAliveMs=1000"];
    const r = await run(port, fast);
    expect(r.code, r.stderr).toBe(0);
    expect(r.record.status).toBe("recovered");
    expect(r.record.diagnosis?.rootCause.id).toBe("websocket-session-leak");
    expect(r.record.actions[0]).toMatchObject({ action: "kill-idle-connections", status: "applied" });
    // Same JVM, recovered in place.
    expect(isAlive(lab.pid)).toBe(true);
    expect((await probeHealth(port, 3000)).ok).toBe(true);
  }, 300_000);
});
