import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labDown, labLoad, labUp, probeHealth } from "../../lab/index.js";
import { incidentRecordSchema } from "../../lambdas/core/incident/schema.js";
import { incidentIdFrom, runCli } from "../support/cli.js";
import { type LocalAws, startLocalAws } from "../support/local-aws.js";
import { ssmDocumentRefs } from "../support/local-pipeline.js";
import { synthRunbook } from "../unit/cdk/synth.js";

/**
 * `runbook diagnose --target ssm:i-...` and `runbook run --target ssm:i-...` from a laptop: the CLI's SSM
 * adapter sends the synthesized documents through the real AWS JSON protocol to the local SSM server,
 * which runs them with bash against the ws-leak lab. Port 18231.
 */
const PORT = 18231;
describe("runbook diagnose and run --target ssm:", () => {
  let aws: LocalAws;
  let documents = "";
  let every = "";
  const out = mkdtempSync(join(tmpdir(), "runbook-ssm-run-"));
  beforeAll(async () => {
    await labUp({ mode: "ws-leak", port: PORT, fdLimit: 1024, keepAliveMs: 1000 });
    const load = await labLoad({ port: PORT, sessions: 2000 });
    expect(load.stoppedReason).toBe("server-stopped-accepting");
    aws = await startLocalAws();
    const names = aws.ssm?.registerFromTemplate(synthRunbook().template.toJSON()) ?? {};
    const refs = ssmDocumentRefs(names);
    documents = JSON.stringify({ probe: refs.probe, "check-health": refs["check-health"] });
    every = JSON.stringify(refs);
  }, 120_000);
  afterAll(async () => {
    await aws?.stop();
    await labDown({ port: PORT });
    rmSync(out, { recursive: true, force: true });
  }, 60_000);

  it("names the leak through SSM Run Command, as from a laptop", async () => {
    const env = { ...aws.env(), RUNBOOK_SSM_DOCUMENTS: documents };
    const r = await runCli(
      [
        "diagnose",
        "--target",
        "ssm:i-0abc1234def567890",
        "--region",
        "us-east-1",
        "--port",
        String(PORT),
        "--output",
        "json",
      ],
      { env, timeoutMs: 90_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as {
      rootCause: { id: string };
      findings: { id: string }[];
      evidence: { target: string };
    };
    expect(d.rootCause.id).toBe("websocket-session-leak");
    expect(d.findings.map((f) => f.id)).toContain("fd-exhaustion");
    expect(d.evidence.target).toBe("ssm:i-0abc1234def567890");
    const sent = aws.ssm?.commands.at(-1);
    expect(sent?.parameters.port).toBe(String(PORT));
    expect(sent?.instanceIds ?? []).toContain("i-0abc1234def567890");
  }, 120_000);

  // After the diagnosis (it changes the lab): the whole ladder through SSM, as the Lambdas would send it.
  it("run --mode auto: kills the idle sessions through the KillIdleConnections document and verifies", async () => {
    const env = { ...aws.env(), RUNBOOK_SSM_DOCUMENTS: every };
    const instance = "i-0abc1234def567890";
    const sentBefore = aws.ssm?.commands.length ?? 0;
    const r = await runCli(
      [
        "run",
        "api-unreachable",
        "--target",
        `ssm:${instance}`,
        "--region",
        "us-east-1",
        "--port",
        String(PORT),
        "--mode",
        "auto",
        "--out",
        out,
        // The lab's sessions are seconds old: idle means 2 s here (Tomcat's keep-alive is 1 s in the lab).
        "--idle-threshold-seconds",
        "2",
        "--threshold",
        "httpKeepAliveMs=1000",
      ],
      { env, timeoutMs: 150_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    const record = incidentRecordSchema.parse(
      JSON.parse(readFileSync(join(out, incidentIdFrom(r.stderr), "incident.json"), "utf8")),
    );
    expect(record.status).toBe("recovered");
    expect(record.target).toBe(`ssm:${instance}`);
    expect(record.actions.find((a) => a.status === "applied")?.action).toBe("kill-idle-connections");
    const sent = (aws.ssm?.commands ?? []).slice(sentBefore);
    const kill = sent.find((c) => c.documentName.includes("KillIdleConnections"));
    expect(kill?.instanceIds).toEqual([instance]);
    expect(kill?.parameters.port).toBe(String(PORT));
    // The process acted on is the process diagnosed: PID and start time from the saved evidence.
    const proc = record.evidence.before?.process;
    expect(proc?.status).toBe("ok");
    if (proc?.status !== "ok") throw new Error("no process in the evidence");
    expect(kill?.parameters.pid).toBe(String(proc.data.pid));
    expect(kill?.parameters.startTicks).toBe(String(proc.data.startTicks));
    expect((await probeHealth(PORT, 5000)).ok).toBe(true);
  }, 180_000);

  it("without the documents' names: one clear line, exit 2", async () => {
    const r = await runCli(["diagnose", "--target", "ssm:i-0abc1234def567890", "--port", String(PORT)], {
      env: { RUNBOOK_SSM_DOCUMENTS: "" },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/RUNBOOK_SSM_DOCUMENTS/);
  });
});
