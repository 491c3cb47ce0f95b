/**
 * Benchmark 9 (issue 14): the AWS path, alarm to recovered. The synthesized state machine runs in
 * aws-local-stepfunctions with every Task bound to the real handler, bundled as the construct deploys it
 * and loaded as the Lambda runtime loads it (test/support/local-pipeline.ts, bundledHandlers; the setup of
 * test/e2e/state-machine.test.ts: s3rver, dynalite, the SSM server running the synthesized documents with
 * bash against the ws-leak lab; ResolveTargets answers as EC2 would, SNS publishes are captured).
 *
 * Unlike the e2e test, the Wait states keep their real durations (WaitForProbe: 3 s, then the poll
 * handler's back-off), so the wall time is the path's own: only the Lambda start, Step Functions'
 * transitions and SSM's delivery latency differ on AWS (docs/benchmarks.md has the estimate).
 * Printed: the wall time from the alarm event to the Verify state saying recovered, and to the end
 * (postmortem written); the time inside the handlers by state; the time spent waiting; SSM commands sent.
 *
 * One run per bench (the lab must be exhausted again for another incident). Port 20400 (the lab);
 * the local AWS servers take ephemeral loopback ports. The lab is always taken down and the servers
 * stopped; the environment the handlers read is restored.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { labDown, labLoad, labUp, probeHealth } from "../lab/index.js";
import { incidentRecordSchema } from "../lambdas/core/incident/schema.js";
import { type LocalAws, loadLocalStepFunctions, startLocalAws } from "../test/support/local-aws.js";
import {
  alarmStateChange,
  bundledHandlers,
  type LocalHandler,
  labLambdaEnv,
  pipelineHandlers,
  resolvedTo,
} from "../test/support/local-pipeline.js";
import { labTimescaleRunbooks } from "../test/support/runbooks-dir.js";
import { resolveDefinition, synthRunbook } from "../test/unit/cdk/synth.js";
import { loadAvg } from "./side-by-side.js";
import { info, ms, type Row, sec } from "./table.js";

const B = "9 AWS path";
const PORT = 20400;
const INSTANCE = "i-0abc1234def567890";
/** The probe's idle threshold in the lab runbook (labTimescaleRunbooks: 2 s): the sessions must be that idle. */
const IDLE_THRESHOLD_MS = 2000;

interface Call {
  readonly state: string;
  readonly start: number;
  readonly end: number;
  readonly output: unknown;
}

export async function benchAwsPath(log: (s: string) => void): Promise<Row[]> {
  const saved = { ...process.env };
  const rawDir = mkdtempSync(join(tmpdir(), "runbook-bench-raw-"));
  let runbooks: string | null = null;
  let aws: LocalAws | null = null;
  let removeBundles = () => {};
  try {
    log(`aws path: ws-leak lab on ${PORT}, 2,000 sessions against a 1,024 fd limit`);
    const lab = await labUp({ mode: "ws-leak", port: PORT, fdLimit: 1024, keepAliveMs: 1000 });
    await labLoad({ port: PORT, sessions: 2000 });
    // The relief kills only sessions idle past the runbook's threshold: let them be that idle.
    await new Promise((r) => setTimeout(r, IDLE_THRESHOLD_MS + 500));
    if ((await probeHealth(PORT, 2000)).ok)
      throw new Error("the lab still answers after the load: not exhausted");
    runbooks = labTimescaleRunbooks();
    aws = await startLocalAws();
    const { template } = synthRunbook();
    const names = aws.ssm?.registerFromTemplate(template.toJSON()) ?? {};
    Object.assign(
      process.env,
      labLambdaEnv(
        aws.env(),
        names,
        { port: PORT, logPath: lab.logPath, runbooksDir: runbooks },
        { PROBE_TIMEOUT_SECONDS: "30", PROBE_RAW_DIR: rawDir },
      ),
    );

    const calls: Call[] = [];
    const published: { state: string; input: unknown }[] = [];
    const bundled = bundledHandlers(runbooks);
    removeBundles = bundled.remove;
    const handlers = await pipelineHandlers(
      await resolvedTo(INSTANCE, bundled.load),
      published,
      undefined,
      bundled.load,
    );
    const timed: Record<string, LocalHandler> = {};
    for (const [state, h] of Object.entries(handlers)) {
      timed[state] = async (input) => {
        const start = performance.now();
        const output = await h(input);
        calls.push({ state, start, end: performance.now(), output });
        return output;
      };
    }
    const { StateMachine } = await loadLocalStepFunctions();
    const machine = new StateMachine(resolveDefinition(template) as never, {
      validationOptions: { checkArn: false, checkPaths: true },
    });
    const load0 = loadAvg();
    log("aws path: the state machine runs (real Wait durations)");
    const t0 = performance.now();
    const t0Epoch = Date.now();
    const at = new Date().toISOString();
    const result = (await machine.run(
      alarmStateChange(`bench-${Date.now()}`, at, "Threshold Crossed (bench)"),
      {
        context: { Task: { Token: "local-token" }, Execution: { Id: "arn:local:execution:bench" } },
        overrides: { taskResourceLocalHandlers: timed as never },
      },
    ).result) as { incident?: { incidentId?: string }; postmortem?: { status?: string } };
    const end = performance.now() - t0;
    const status = result.postmortem?.status ?? "none";
    if (status !== "recovered")
      throw new Error(`the run ended '${status}', not recovered: ${JSON.stringify(published).slice(0, 500)}`);
    const verified = calls.find(
      (c) => c.state === "Verify" && (c.output as { recovered?: boolean } | null)?.recovered === true,
    );
    if (!verified) throw new Error("no Verify state said recovered");
    const byState = new Map<string, { n: number; ms: number }>();
    for (const c of calls) {
      const s = byState.get(c.state) ?? { n: 0, ms: 0 };
      byState.set(c.state, { n: s.n + 1, ms: s.ms + (c.end - c.start) });
    }
    const inHandlers = calls.reduce((a, c) => a + (c.end - c.start), 0);
    const polls = byState.get("PollProbe")?.n ?? 0;
    const load = `load ${load0.toFixed(1)} → ${loadAvg().toFixed(1)}`;
    // The record's own step and action times: where ApplyMitigation and Verify spend theirs.
    const { incidentStore } = await import("../lambdas/handlers/wiring-dynamo.js");
    const record = incidentRecordSchema.parse(
      await incidentStore().load(`${result.incident?.incidentId ?? ""}/${INSTANCE}`),
    );
    const span = (a: string, b: string | null) => (b ? Date.parse(b) - Date.parse(a) : Number.NaN);
    const healed = record.actions.find((a) => a.healthyAfter === true);
    const recordRows = [
      info(
        B,
        "alarm event → the service answers again (the first rung whose health check passed, its end)",
        healed ? sec(Date.parse(healed.endedAt) - t0Epoch) : "no rung saw it healthy",
      ),
      ...record.steps.map((s) =>
        info(B, `  record step ${s.id} (${s.status})`, ms(span(s.startedAt, s.endedAt))),
      ),
      ...record.actions.map((a) =>
        info(B, `  record action rung ${a.rung} ${a.action} (${a.status})`, ms(span(a.startedAt, a.endedAt))),
      ),
    ];
    return [
      info(B, `alarm event → Verify says recovered (wall, ${load})`, sec(verified.end - t0)),
      info(B, "alarm event → postmortem written, execution ended (wall)", sec(end)),
      info(B, "time inside the handlers (sum; the Map runs one target here)", sec(inHandlers)),
      info(B, "time outside the handlers (Wait states, transitions)", sec(end - inHandlers)),
      info(
        B,
        "SSM commands sent (probe, relief and kill, health checks, probe after)",
        String(aws.ssm?.commands.length ?? 0),
      ),
      info(B, "PollProbe invocations (3 s wait, then the handler's back-off)", String(polls)),
      ...[...byState].map(([state, s]) => info(B, `  ${state}: ${s.n} invocation(s), total`, ms(s.ms))),
      ...recordRows,
    ];
  } finally {
    removeBundles();
    process.env = saved;
    await aws?.stop();
    await labDown({ port: PORT });
    rmSync(rawDir, { recursive: true, force: true });
    if (runbooks) rmSync(runbooks, { recursive: true, force: true });
  }
}
