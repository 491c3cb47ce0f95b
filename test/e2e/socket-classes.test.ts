import { mkdtempSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isAlive, labDown, labLoad, labUp, probeHealth, readState } from "../../lab/index.js";
import { type IncidentRecord, incidentRecordSchema } from "../../lambdas/core/incident/schema.js";
import { BIN, fdKinds, incidentIdFrom, openFds, runCli } from "../support/cli.js";

/**
 * The socket classes against the real lab, with the runbook's defaults (no threshold, idle or log-path
 * overrides): `diagnose` names the class on the first run, and `run --mode auto` applies its ladder
 * (restart → escalate) and recovers. One lab per class. Ports 20210-20229.
 */
const ports: number[] = [];
afterAll(async () => {
  for (const port of ports) await labDown({ port });
}, 60_000);

interface DiagnoseJson {
  rootCause: { id: string; confidence: number; summary: string };
  findings: Array<{ id: string; variant: string; evidence: Array<{ text: string }> }>;
  ruledOut: Array<{ id: string; evidence: Array<{ text: string }> }>;
  contributing: Array<{ id: string }>;
  evidence: {
    network?: { status: string; data?: { owned: { closeWaitPeers: Array<{ address: string }> } } };
  };
}

async function diagnose(port: number): Promise<DiagnoseJson> {
  const r = await runCli(["diagnose", "--port", String(port), "--output", "json"], { timeoutMs: 90_000 });
  if (r.code !== 0) throw new Error(`diagnose exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as DiagnoseJson;
}

async function runAuto(
  port: number,
  restart: string,
): Promise<{ code: number | null; record: IncidentRecord; stderr: string }> {
  const out = mkdtempSync(join(tmpdir(), "runbook-sockets-"));
  const r = await runCli(
    [
      "run",
      "api-unreachable",
      "--port",
      String(port),
      "--out",
      out,
      "--mode",
      "auto",
      "--restart-command",
      restart,
    ],
    { timeoutMs: 180_000 },
  );
  const id = incidentIdFrom(r.stderr);
  const record = incidentRecordSchema.parse(JSON.parse(readFileSync(join(out, id, "incident.json"), "utf8")));
  return { code: r.code, record, stderr: r.stderr };
}

const ruledOut = (d: DiagnoseJson) => d.ruledOut.map((r) => r.id);

describe("socket classes against the lab, runbook defaults", () => {
  it("close-wait: upstream sockets never closed until the fd limit → close-wait-leak (outbound), then restart recovers", async () => {
    const port = 20210;
    ports.push(port);
    const lab = await labUp({ mode: "close-wait", port, fdLimit: 1024 });
    // Until the fds are at the limit (an event; a load cut short by time-outs on a loaded machine is repeated).
    for (let i = 0; i < 3 && openFds(lab.pid) < 0.95 * 1024; i++) await labLoad({ port, requests: 2000 });
    expect(fdKinds(lab.pid).sockets).toBeGreaterThan(0.9 * 1024);
    // The load often leaves the lab one fd short (1,023 of 1,024: each request takes the last fd for a
    // moment and gives it back), where it can still answer a health check now and then, and a run then
    // rightly finds it not down (3 of ~20 runs). An idle connection held open takes that last fd for
    // Tomcat's 60 s connection time-out once the acceptor reaches it (behind the dead connections left in
    // the accept queue, which can take longer than this test waits: then the check below stands alone).
    const pin = connect(port, "127.0.0.1");
    pin.on("error", () => {});
    const deadline = Date.now() + 10_000;
    while (openFds(lab.pid) < 1024 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(openFds(lab.pid)).toBeGreaterThanOrEqual(1023);
    expect((await probeHealth(port, 3000)).ok).toBe(false);

    const d = await diagnose(port);
    expect(d.rootCause.id).toBe("close-wait-leak");
    expect(d.findings[0]).toMatchObject({ id: "close-wait-leak", variant: "outbound" });
    const upstream = d.evidence.network?.data?.owned.closeWaitPeers[0]?.address ?? "";
    expect(upstream).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(d.rootCause.summary).toContain(`of them to ${upstream}`);
    expect(d.findings.map((f) => f.id)).toContain("fd-exhaustion");
    expect(ruledOut(d)).toEqual(
      expect.arrayContaining(["websocket-session-leak", "file-handle-leak", "listen-backlog-overflow"]),
    );
    for (const h of ["ephemeral-port-exhaustion", "time-wait-flood", "conntrack-table-full"])
      expect(ruledOut(d)).toContain(h);

    const restart = `node ${BIN} lab up --mode close-wait --port ${port} --fd-limit 1024`;
    const run = await runAuto(port, restart);
    expect(run.code, run.stderr).toBe(0);
    expect(run.record.status).toBe("recovered");
    expect(run.record.diagnosis?.rootCause.id).toBe("close-wait-leak");
    // Its ladder: restart, never the in-place kill of idle connections.
    expect(run.record.actions.map((a) => a.action)).not.toContain("kill-idle-connections");
    expect(run.record.actions.find((a) => a.action === "restart-service")?.status).toBe("applied");
    const newPid = readState(undefined, port)?.pid ?? 0;
    expect(newPid).not.toBe(lab.pid);
    expect(isAlive(lab.pid)).toBe(false);
    expect((await probeHealth(port, 3000)).ok).toBe(true);
    pin.destroy();
  }, 300_000);

  it("listen-backlog: the acceptor stalls under arriving clients → listen-backlog-overflow, then restart recovers", async () => {
    const port = 20220;
    ports.push(port);
    const lab = await labUp({ mode: "listen-backlog", port, fdLimit: 4096 });
    const load = await labLoad({ port, maxSeconds: 240 });
    expect(load.stoppedReason).toBe("server-stopped-accepting");

    const d = await diagnose(port);
    expect(d.rootCause.id).toBe("listen-backlog-overflow");
    expect(d.findings[0]).toMatchObject({ id: "listen-backlog-overflow", variant: "queue-full-dropping" });
    const f = d.findings.find((x) => x.id === "listen-backlog-overflow");
    expect(f?.evidence.map((e) => e.text).join("\n")).toMatch(/accept queue 101 of 100/);
    expect(ruledOut(d)).toEqual(
      expect.arrayContaining([
        "thread-pool-exhaustion",
        "websocket-session-leak",
        "close-wait-leak",
        "load-balancer-path",
      ]),
    );

    const restart = `node ${BIN} lab up --mode listen-backlog --port ${port} --fd-limit 4096`;
    const run = await runAuto(port, restart);
    expect(run.code, run.stderr).toBe(0);
    expect(run.record.status).toBe("recovered");
    expect(run.record.diagnosis?.rootCause.id).toBe("listen-backlog-overflow");
    expect(run.record.actions.map((a) => a.action)).not.toContain("kill-idle-connections");
    expect(isAlive(lab.pid)).toBe(false);
    expect((await probeHealth(port, 3000)).ok).toBe(true);
  }, 300_000);
});
