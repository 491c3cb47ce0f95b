import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { isAlive, labDown, labLoad, labUp, probeHealth, readState } from "../../lab/index.js";
import { type IncidentRecord, incidentRecordSchema } from "../../lambdas/core/incident/schema.js";
import { BIN, fdKinds, incidentIdFrom, loadToLimit, openFds, runCli } from "../support/cli.js";

/**
 * `runbook run api-unreachable` end to end against the real lab. Ports 18220-18229.
 * The lab runs Tomcat with a 1 s keep-alive; the runbook is told so, and idle means 2 s here.
 */
const FAST = ["--idle-threshold-seconds", "2", "--threshold", "httpKeepAliveMs=1000"];
const ports: number[] = [];
afterAll(async () => {
  for (const port of ports) await labDown({ port });
}, 60_000);

function readRecord(out: string, id: string): IncidentRecord {
  return incidentRecordSchema.parse(JSON.parse(readFileSync(join(out, id, "incident.json"), "utf8")));
}

async function run(port: number, out: string, extra: string[], logPath?: string, timeoutMs = 180_000) {
  const args = ["run", "api-unreachable", "--port", String(port), "--out", out, ...FAST, ...extra];
  if (logPath) args.push("--log-path", logPath);
  const r = await runCli(args, { timeoutMs });
  const id = incidentIdFrom(r.stderr);
  return { ...r, id, record: readRecord(out, id) };
}

async function wsLeakAtLimit(port: number) {
  ports.push(port);
  const lab = await labUp({ mode: "ws-leak", port, fdLimit: 1024, keepAliveMs: 1000 });
  await loadToLimit(port, lab.pid, 1024);
  expect(openFds(lab.pid)).toBeGreaterThanOrEqual(0.95 * 1024);
  expect((await probeHealth(port, 2000)).ok).toBe(false);
  return lab;
}

describe("runbook run api-unreachable against the lab", () => {
  it("ws-leak at the fd limit, --mode auto: recovers in place, same JVM, fds and WsSession drop; a second run inside the cooldown does not act", async () => {
    const port = 18220;
    // A space in --out: the probe's raw folders are quoted everywhere (docs/security.md).
    const out = mkdtempSync(join(tmpdir(), "runbook run-"));
    const lab = await wsLeakAtLimit(port);
    const fdsBefore = openFds(lab.pid);

    const r = await run(port, out, ["--mode", "auto"], lab.logPath);
    expect(r.code, r.stderr).toBe(0);
    const rec = r.record;
    expect(rec.status).toBe("recovered");
    expect(rec.diagnosis?.rootCause.id).toBe("websocket-session-leak");
    // The same JVM is still running and answers.
    expect(isAlive(lab.pid)).toBe(true);
    expect((await probeHealth(port, 3000)).ok).toBe(true);
    expect(openFds(lab.pid)).toBeLessThan(fdsBefore / 4);

    // Figures in the record: fds and WsSession dropped; the histogram came after the relief batch.
    const v = rec.verification;
    expect(v?.recovered).toBe(true);
    expect(v?.before?.pid).toBe(lab.pid);
    expect(v?.after?.pid).toBe(lab.pid);
    expect(v?.before?.openFds).toBeGreaterThanOrEqual(0.95 * 1024);
    expect(v?.after?.openFds).toBeLessThan(100);
    expect(v?.before?.wsSessions).toBeNull(); // attach impossible at the limit
    expect(v?.after?.wsSessions).toBeLessThan(50);
    expect(v?.after?.established).toBeLessThan(20);
    // After the relief batch the histogram is taken when the JVM has fds to spare. Under load Tomcat's
    // acceptor can take the freed fds from its accept queue before the probe looks (a race the probe
    // reports instead of hanging): then the record says the attach was not attempted at the limit.
    const confirmation = rec.steps.find((s) => s.id === "collect-after-relief")?.outputs.confirmation as {
      rootCause: string;
      confirms: boolean;
      confidence: number;
      histogram: string;
    };
    const relief = rec.evidence.afterRelief?.classHistogram;
    if (relief?.status === "ok") {
      expect(v?.afterRelief?.wsSessions).toBeGreaterThan(0.8 * (v?.before?.established ?? 0));
      expect(confirmation).toMatchObject({
        rootCause: "websocket-session-leak",
        confirms: true,
        histogram: "ok",
      });
      // With the histogram taken after relief, the diagnosis is confirmed at higher confidence.
      expect(confirmation.confidence).toBeGreaterThan(rec.diagnosis?.rootCause.confidence ?? 1);
      expect(r.stdout).toMatch(
        /After relief \(class histogram ok\): websocket-session-leak \(\d+%\), confirms the diagnosis/,
      );
    } else {
      expect(relief?.status).toBe("unavailable");
      expect(relief?.status === "unavailable" ? relief.reason : "").toMatch(/open-files limit/);
      expect(v?.afterRelief?.wsSessions).toBeNull();
    }

    // Evidence before action: the evidence artifact exists, with the digest recorded, before apply began.
    const evidence = rec.artifacts.find((a) => a.name === "evidence/evidence-before.json");
    expect(evidence).toBeDefined();
    const bytes = readFileSync(fileURLToPath(evidence?.uri ?? ""));
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(evidence?.sha256);
    const stepIds = rec.steps.map((s) => s.id);
    expect(stepIds.indexOf("save-evidence")).toBeLessThan(stepIds.indexOf("apply"));
    const saved = rec.steps.find((s) => s.id === "save-evidence");
    const apply = rec.steps.find((s) => s.id === "apply");
    expect(Date.parse(saved?.endedAt ?? "")).toBeLessThanOrEqual(Date.parse(apply?.startedAt ?? ""));
    for (const s of rec.steps) {
      expect(s.endedAt, s.id).not.toBeNull();
      expect(["ok", "skipped"]).toContain(s.status);
    }
    expect(rec.actions[0]).toMatchObject({
      action: "kill-idle-connections",
      status: "applied",
      healthyAfter: true,
    });
    expect(existsSync(join(out, r.id, "postmortem.md"))).toBe(true);
    expect(existsSync(join(out, r.id, "raw/before/ss-tanoi.txt"))).toBe(true);
    expect(r.stdout).toContain(`Incident ${r.id}: recovered`);

    // The same failure again right away: inside the cooldown nothing is killed.
    await loadToLimit(port, lab.pid, 1024);
    const fdsAgain = openFds(lab.pid);
    expect(fdsAgain).toBeGreaterThanOrEqual(0.95 * 1024);
    const again = await run(port, out, ["--mode", "auto"], lab.logPath);
    expect(again.code).toBe(5);
    expect(again.record.status).toBe("cooldown");
    expect(again.record.statusReason).toContain(r.id);
    // Exactly one rung was reached and it was skipped for the cooldown (not an empty, vacuous list).
    expect(again.record.actions).toHaveLength(1);
    expect(again.record.actions[0]).toMatchObject({
      action: "kill-idle-connections",
      status: "skipped",
      reason: expect.stringContaining("cooldown"),
    });
    expect(openFds(lab.pid)).toBeGreaterThanOrEqual(fdsAgain - 5);
  }, 240_000);

  it("plan mode on ws-leak prints the plan and changes nothing", async () => {
    const port = 18221;
    const out = mkdtempSync(join(tmpdir(), "runbook-run-"));
    const lab = await wsLeakAtLimit(port);
    const fdsBefore = openFds(lab.pid);
    const r = await run(port, out, ["--mode", "plan"], lab.logPath);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain("Mitigation plan for websocket-session-leak (mode plan)");
    expect(r.stdout).toContain("1. kill-idle-connections [changes host]");
    expect(r.record.status).toBe("planned");
    expect(r.record.actions.map((a) => a.status)).toEqual(r.record.actions.map(() => "planned"));
    expect(r.record.steps.find((s) => s.id === "verify")?.status).toBe("skipped");
    expect(openFds(lab.pid)).toBe(fdsBefore);
    expect(isAlive(lab.pid)).toBe(true);
    expect((await probeHealth(port, 2000)).ok).toBe(false);

    // approve mode with no terminal to ask on: the first destructive rung is declined, nothing changes.
    const approve = await run(port, out, ["--mode", "approve"], lab.logPath);
    expect(approve.code).toBe(3);
    expect(approve.record.status).toBe("declined");
    expect(approve.stderr).toContain("approval needed for kill-idle-connections but there is no terminal");
    expect(approve.record.actions[0]).toMatchObject({ action: "kill-idle-connections", status: "declined" });
    // The record says nobody was asked, not that a person declined.
    expect(approve.record.actions[0]?.reason).toMatch(/^no terminal to ask/);
    expect(openFds(lab.pid)).toBe(fdsBefore);
  }, 150_000);

  it("healthy: changes nothing on the host and records load-balancer-path", async () => {
    const port = 18222;
    ports.push(port);
    const out = mkdtempSync(join(tmpdir(), "runbook-run-"));
    const lab = await labUp({ mode: "healthy", port, fdLimit: 4096 });
    // The first JVM attach creates the JVM's attach listener (one socket, the JVM's own); take it first.
    await runCli(["diagnose", "--port", String(port)]);
    const fdsBefore = openFds(lab.pid);
    const r = await run(port, out, ["--mode", "auto"], lab.logPath);
    expect(r.code).toBe(0);
    expect(r.record.status).toBe("not-down");
    expect(r.record.diagnosis?.rootCause.id).toBe("load-balancer-path");
    expect(r.record.actions.map((a) => a.action)).toEqual(["notify-only"]);
    expect(readState(undefined, port)?.pid).toBe(lab.pid);
    expect(isAlive(lab.pid)).toBe(true);
    // Nothing was destroyed: a live JVM opens and closes a few fds of its own, a kill would drop many.
    expect(Math.abs(openFds(lab.pid) - fdsBefore)).toBeLessThanOrEqual(8);
  }, 120_000);

  it("file-leak with --restart-command: restarts and verifies; without: escalates, exits non-zero, kills nothing", async () => {
    const port = 18223;
    ports.push(port);
    const out = mkdtempSync(join(tmpdir(), "runbook-run-"));
    const up = async () => {
      const lab = await labUp({ mode: "file-leak", port, fdLimit: 1024 });
      await labLoad({ port, requests: 1500 });
      expect(fdKinds(lab.pid).files).toBeGreaterThan(0.9 * 1024);
      return lab;
    };
    const lab = await up();
    const without = await run(port, out, ["--mode", "auto"], lab.logPath);
    expect(without.code).toBe(4);
    expect(without.record.status).toBe("escalated");
    expect(without.record.diagnosis?.rootCause.id).toBe("file-handle-leak");
    expect(without.record.actions.find((a) => a.action === "restart-service")?.status).toBe("skipped");
    expect(isAlive(lab.pid)).toBe(true);
    expect(fdKinds(lab.pid).files).toBeGreaterThan(0.9 * 1024);

    // A fresh out dir: no cooldown from the run above (which changed nothing anyway).
    const out2 = mkdtempSync(join(tmpdir(), "runbook-run-"));
    const restart = `node ${BIN} lab up --mode file-leak --port ${port} --fd-limit 1024`;
    // With --pid: the PID acted on is the one verified, and the probes after the restart follow the new PID.
    const withCmd = await run(
      port,
      out2,
      ["--mode", "auto", "--restart-command", restart, "--pid", String(lab.pid)],
      lab.logPath,
    );
    expect(withCmd.code, withCmd.stderr).toBe(0);
    expect(withCmd.record.status).toBe("recovered");
    const action = withCmd.record.actions.find((a) => a.action === "restart-service");
    expect(action?.status).toBe("applied");
    expect(action?.details.stopSignal).toMatch(/TERM|KILL/);
    const newPid = readState(undefined, port)?.pid ?? 0;
    expect(newPid).not.toBe(lab.pid);
    expect(isAlive(lab.pid)).toBe(false);
    expect(withCmd.record.verification?.after?.pid).toBe(newPid);
    expect(action?.details.newPid).toBe(newPid);
    expect(action?.details.oldPid).toBe(String(lab.pid));
    expect((await probeHealth(port, 3000)).ok).toBe(true);
    expect(openFds(newPid)).toBeLessThan(100);
  }, 240_000);

  it("a run interrupted with SIGINT leaves a record that says where it stopped", async () => {
    const port = 18224;
    const out = mkdtempSync(join(tmpdir(), "runbook-run-"));
    const lab = await wsLeakAtLimit(port);
    const fdsBefore = openFds(lab.pid);
    const args = ["run", "api-unreachable", "--port", String(port), "--out", out, "--mode", "auto", ...FAST];
    // The signal goes when the run says it is collecting: an event, not a delay.
    const r = await runCli(args, {
      signal: "SIGINT",
      signalWhen: /collecting evidence \(before\)/,
      timeoutMs: 60_000,
    });
    expect(r.code).toBe(130);
    const rec = readRecord(out, incidentIdFrom(r.stderr));
    expect(rec.status).toBe("interrupted");
    const interrupted = rec.steps.filter((s) => s.status === "interrupted").map((s) => s.id);
    expect(interrupted).toEqual(["collect"]);
    expect(rec.statusReason).toMatch(/Interrupted \(SIGINT\) during step collect/);
    expect(rec.endedAt).not.toBeNull();
    expect(openFds(lab.pid)).toBeGreaterThanOrEqual(fdsBefore - 5);
  }, 120_000);

  it("bad options: one clear line and exit 2", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["run", "api-unreachable", "--port", "18229", "--mode", "yolo"], /--mode: .*plan.*approve.*auto/],
      [["run", "no-such-runbook", "--port", "18229"], /no runbook 'no-such-runbook'/],
      [
        ["run", "api-unreachable", "--port", "18229", "--service", "a.service", "--restart-command", "x"],
        /not both/,
      ],
      [
        ["run", "api-unreachable", "--port", "18229", "--idle-threshold-seconds", "0"],
        /--idle-threshold-seconds: expected whole seconds 1-86400/,
      ],
    ];
    for (const [args, pattern] of cases) {
      const r = await runCli(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(pattern);
    }
  }, 60_000);
});
