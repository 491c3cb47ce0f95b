import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labDown, labLoad, labUp } from "../../lab/index.js";
import { runCli, sleep } from "../support/cli.js";
import { type LocalAws, startLocalAws } from "../support/local-aws.js";
import { ssmDocumentRefs } from "../support/local-pipeline.js";
import { synthRunbook } from "../unit/cdk/synth.js";

/**
 * `runbook diagnose --target ssm:i-...` from a laptop: the CLI's SSM adapter sends the synthesized
 * probe document through the real AWS JSON protocol to the local SSM server, which runs it with bash
 * against the ws-leak lab. Port 18231.
 */
const PORT = 18231;
describe("runbook diagnose --target ssm:", () => {
  let aws: LocalAws;
  let documents = "";
  beforeAll(async () => {
    await labUp({ mode: "ws-leak", port: PORT, fdLimit: 1024, keepAliveMs: 1000 });
    await labLoad({ port: PORT, sessions: 2000 });
    await sleep(2500);
    aws = await startLocalAws();
    const names = aws.ssm?.registerFromTemplate(synthRunbook().template.toJSON()) ?? {};
    const refs = ssmDocumentRefs(names);
    documents = JSON.stringify({ probe: refs.probe, "check-health": refs["check-health"] });
  }, 120_000);
  afterAll(async () => {
    await aws?.stop();
    await labDown({ port: PORT });
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

  it("without the documents' names: one clear line, exit 2", async () => {
    const r = await runCli(["diagnose", "--target", "ssm:i-0abc1234def567890", "--port", String(PORT)], {
      env: { RUNBOOK_SSM_DOCUMENTS: "" },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/RUNBOOK_SSM_DOCUMENTS/);
  });
});
