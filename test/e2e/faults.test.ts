import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetObjectCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAlive, labDown, labLoad, labUp, probeHealth } from "../../lab/index.js";
import { DynamoIncidentStore } from "../../lambdas/adapters/aws/dynamo-incident-store.js";
import { type IncidentRecord, incidentRecordSchema } from "../../lambdas/core/incident/schema.js";
import { type LocalAws, loadLocalStepFunctions, startLocalAws } from "../support/local-aws.js";
import {
  alarmStateChange,
  type LocalHandler,
  labLambdaEnv,
  pipelineHandlers,
  resolvedTo,
} from "../support/local-pipeline.js";
import { labTimescaleRunbooks } from "../support/runbooks-dir.js";
import type { SsmFault } from "../support/ssm-server.js";
import { resolveDefinition, synthRunbook } from "../unit/cdk/synth.js";

/**
 * Faults on the AWS path (issue 9, "Faults"): the synthesized state machine in aws-local-stepfunctions,
 * the real handlers, s3rver, dynalite and the SSM test server running the real probe and actions with
 * bash against one ws-leak lab. Each case injects one fault and checks the four promises:
 * the record says what failed; nothing collected is lost; no action runs without saved evidence; the
 * execution ends in escalate and notify. Cases that leave the lab down share it; the ones that change
 * it (kill, self-recovery, death) run last. Lab port 19700.
 */
const PORT = 19700;
const BUCKET = "runbook-artifacts";
const TABLE = "runbook-incidents";

/** Polls `check` until it is true, bounded by `timeoutMs` (for conditions no event announces). */
async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface CaseRun {
  readonly instance: string;
  readonly incidentId: string;
  readonly output: Record<string, unknown> | null;
  readonly error: Error | null;
  readonly published: { state: string; input: unknown }[];
  readonly record: IncidentRecord | null;
  /** SSM documents sent for this case, in order. */
  readonly documents: string[];
}

describe("faults on the AWS path: the state machine run locally against the lab", () => {
  let aws: LocalAws;
  let labPid = 0;
  const holders: number[] = [];
  const saved = { ...process.env };
  const rawDir = mkdtempSync(join(tmpdir(), "runbook-raw-"));
  const runbooksDir = labTimescaleRunbooks();
  let caseNo = 0;

  /** Loads the lab with vanished WebSocket clients until it stops answering. */
  async function breakLab(): Promise<void> {
    const loads = [];
    for (let i = 0; i < 3; i++) {
      const load = await labLoad({ port: PORT, sessions: 2000 });
      loads.push(load);
      if (load.holderPid) holders.push(load.holderPid);
      try {
        await until("the lab stops answering", async () => !(await probeHealth(PORT, 1000)).ok, 30_000);
        return;
      } catch {
        // a loaded machine: load again (bounded)
      }
    }
    throw new Error(`the lab still answers after 3 loads: ${JSON.stringify(loads)}`);
  }

  /**
   * For the cases that need a down target: the previous case may have fixed the lab. Right after a
   * kill the lab is still closing thousands of sockets and can miss a 1 s health check while it is in
   * fact recovering (the probe then finds it healthy): down means no answer within 5 s.
   */
  async function ensureLabDown(): Promise<void> {
    expect(isAlive(labPid)).toBe(true);
    if ((await probeHealth(PORT, 5000)).ok) await breakLab();
  }

  beforeAll(async () => {
    const lab = await labUp({ mode: "ws-leak", port: PORT, fdLimit: 1024, keepAliveMs: 1000 });
    labPid = lab.pid;
    await breakLab();
    aws = await startLocalAws({ restartable: true });
    const names = aws.ssm?.registerFromTemplate(synthRunbook().template.toJSON()) ?? {};
    Object.assign(
      process.env,
      labLambdaEnv(
        aws.env(),
        names,
        { port: PORT, logPath: lab.logPath, runbooksDir },
        {
          PROBE_TIMEOUT_SECONDS: "10",
          PROBE_RAW_DIR: rawDir,
          // Every case is a fresh instance in one fleet within the hour: the default budget (3 per hour)
          // would brake the later cases. The brake has its own tests (state-machine-local, fleet-brake-adapters).
          FLEET_BUDGET: "1000",
          SSM_APPEAR_WITHIN_SECONDS: "3",
          SSM_GRACE_SECONDS: "3",
          // No local SNS: the workflows' own publishes fail fast against a closed port (the state
          // machine's SNS tasks are captured instead).
          AWS_ENDPOINT_URL_SNS: "http://127.0.0.1:9",
        },
      ),
    );
  }, 180_000);

  afterAll(async () => {
    process.env = saved;
    await aws?.stop();
    await labDown({ port: PORT });
    rmSync(rawDir, { recursive: true, force: true });
    rmSync(runbooksDir, { recursive: true, force: true });
  }, 60_000);

  /** One incident for a fresh instance id (no cooldown carried over), with faults and handler wrappers. */
  async function runCase(
    c: {
      faults?: SsmFault[];
      /** Runs before the named task's handler: a fault in the middle of the run. */
      before?: Record<string, () => Promise<void>>;
      wrap?: (handlers: Record<string, LocalHandler>) => void;
    } = {},
  ): Promise<CaseRun> {
    caseNo++;
    const instance = `i-0fa017${String(caseNo).padStart(11, "0")}`;
    const at = new Date(Date.UTC(2026, 10, 25, 4, caseNo)).toISOString();
    const ssm = aws.ssm;
    if (!ssm) throw new Error("no SSM server");
    ssm.clearFaults();
    for (const f of c.faults ?? []) ssm.injectFault(f);
    const sentBefore = ssm.commands.length;
    const published: { state: string; input: unknown }[] = [];
    const handlers = await pipelineHandlers(await resolvedTo(instance), published);
    let incidentId = "";
    const open = handlers.OpenIncident as LocalHandler;
    handlers.OpenIncident = async (input) => {
      const out = (await open(input)) as { incidentId: string };
      incidentId = out.incidentId;
      return out;
    };
    for (const [task, fn] of Object.entries(c.before ?? {})) {
      const real = handlers[task] as LocalHandler;
      handlers[task] = async (input) => {
        await fn();
        return real(input);
      };
    }
    c.wrap?.(handlers);
    const { StateMachine } = await loadLocalStepFunctions();
    const definition = resolveDefinition(synthRunbook().template);
    const execution = new StateMachine(definition as never, {
      validationOptions: { checkArn: false, checkPaths: true },
    }).run(alarmStateChange(`fault-${instance}`, at, "Threshold Crossed (fault test)"), {
      context: { Task: { Token: "local-token" }, Execution: { Id: `arn:local:execution:fault-${caseNo}` } },
      overrides: {
        taskResourceLocalHandlers: handlers as never,
        waitTimeOverrides: { WaitForProbe: 100 },
        retryIntervalOverrides: { ApplyMitigation: 0 },
      },
    });
    let output: Record<string, unknown> | null = null;
    let error: Error | null = null;
    try {
      output = (await execution.result) as Record<string, unknown>;
    } catch (e) {
      error = e as Error;
    }
    ssm.clearFaults();
    const store = new DynamoIncidentStore({ client: aws.dynamodb(), tableName: TABLE });
    const raw = incidentId ? await store.load(`${incidentId}/${instance}`).catch(() => null) : null;
    return {
      instance,
      incidentId,
      output,
      error,
      published,
      record: raw ? incidentRecordSchema.parse(raw) : null,
      documents: ssm.commands.slice(sentBefore).map((x) => x.documentName),
    };
  }

  async function s3Text(key: string): Promise<string | null> {
    try {
      const out = await aws.s3().send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      return (await out.Body?.transformToString("utf8")) ?? "";
    } catch {
      return null;
    }
  }

  /** Every artifact the record lists is in S3 with the recorded sha256 (nothing collected is lost). */
  async function expectArtifactsKept(r: IncidentRecord): Promise<void> {
    expect(r.artifacts.length).toBeGreaterThan(0);
    for (const a of r.artifacts) {
      const key = a.uri.replace(`s3://${BUCKET}/`, "");
      const head = await aws.s3().send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
      expect(head.Metadata?.sha256, a.name).toBe(a.sha256);
    }
  }

  /** The execution ended in escalate and notify: NotifyResult "escalated", the record escalated. */
  function expectEscalated(run: CaseRun): IncidentRecord {
    const closed = run.published.find((p) => p.state === "NotifyResult")?.input as
      | { Message: { status: string } }
      | undefined;
    expect(closed?.Message.status, JSON.stringify(run.published).slice(0, 1500)).toBe("escalated");
    const r = run.record;
    expect(r).not.toBeNull();
    if (!r) throw new Error("no record");
    expect(r.status).toBe("escalated");
    expect(r.escalation?.reason).toBeTruthy();
    expect(r.endedAt).not.toBeNull();
    return r;
  }

  /** No action command went to the host: only the probe (and nothing destructive). */
  function expectNoAction(run: CaseRun): void {
    expect(run.documents.length).toBeGreaterThan(0);
    expect(run.documents.filter((d) => /KillIdle|Restart/.test(d))).toEqual([]);
    const acted = run.record?.actions.filter((a) => a.action !== "escalate" && a.action !== "notify-only");
    expect(acted?.filter((a) => a.status === "applied" || a.status === "failed")).toEqual([]);
  }

  /** The collect step failed and names the fault. */
  function expectCollectFailed(r: IncidentRecord, pattern: RegExp): void {
    const collect = r.steps.find((s) => s.id === "collect");
    expect(collect?.status).toBe("failed");
    expect(collect?.error?.message).toMatch(pattern);
    expect(r.evidence.before).toBeNull();
    expect(r.statusReason).toMatch(/Evidence could not be collected/);
  }

  it("SendCommand throttled for good: the probe is never sent; escalated, the record names the throttling", async () => {
    const run = await runCase({ faults: [{ kind: "throttle", op: "SendCommand", document: "Probe" }] });
    const r = expectEscalated(run);
    expectCollectFailed(r, /throttled/);
    // Nothing reached the host, and the record shows no rung but the escalation.
    expect(run.documents).toEqual([]);
    expect(r.actions.map((a) => a.action)).toEqual(["escalate"]);
    await expectArtifactsKept(r);
  }, 120_000);

  it("GetCommandInvocation throttled for good: polling stops within its bound, the command is cancelled, the probe's S3 copy is kept", async () => {
    const run = await runCase({
      faults: [{ kind: "throttle", op: "GetCommandInvocation", document: "Probe" }],
    });
    const r = expectEscalated(run);
    // The probe ran on the host and SSM kept its output in S3: it is not lost, but a probe whose
    // status was never learned is not a basis for action.
    const probe = r.artifacts.find((a) => a.name === "evidence/probe-before.txt");
    expect(probe).toBeDefined();
    expectCollectFailed(r, /TimedOut.*ThrottlingException/);
    expectNoAction(run);
    await expectArtifactsKept(r);
  }, 120_000);

  it("InvocationDoesNotExist for good: undeliverable after the appear bound; escalated", async () => {
    const run = await runCase({ faults: [{ kind: "invisible", document: "Probe" }] });
    const r = expectEscalated(run);
    expectCollectFailed(r, /Undeliverable/);
    expectNoAction(run);
    await expectArtifactsKept(r);
  }, 120_000);

  it("AccessDeniedException on SendCommand: escalated at once, the record says access was denied", async () => {
    const run = await runCase({ faults: [{ kind: "access-denied", op: "SendCommand", document: "Probe" }] });
    const r = expectEscalated(run);
    expectCollectFailed(r, /AccessDenied.*not authorized/);
    expect(run.documents).toEqual([]);
    await expectArtifactsKept(r);
  }, 120_000);

  it("DeliveryTimedOut: the agent is never reached; escalated", async () => {
    const run = await runCase({ faults: [{ kind: "delivery-timed-out", document: "Probe" }] });
    const r = expectEscalated(run);
    expectCollectFailed(r, /TimedOut.*DeliveryTimedOut/);
    expectNoAction(run);
    await expectArtifactsKept(r);
  }, 120_000);

  it("ExecutionTimedOut with partial output: the partial output is kept, no action on it; escalated", async () => {
    const run = await runCase({
      faults: [{ kind: "execution-timed-out", afterMs: 1500, document: "Probe" }],
    });
    const r = expectEscalated(run);
    expectCollectFailed(r, /TimedOut.*ExecutionTimedOut/);
    const kept = r.artifacts.find((a) => a.name === "evidence/probe-before.txt");
    expect(kept?.bytes).toBeGreaterThan(0);
    const text = await s3Text(kept?.uri.replace(`s3://${BUCKET}/`, "") ?? "");
    expect(text).toMatch(/^#runbook-probe format=/);
    expect(text).not.toMatch(/^==> end /m);
    expectNoAction(run);
    await expectArtifactsKept(r);
  }, 120_000);

  it("Failed with partial stdout: the cut output is kept, no action on it; escalated", async () => {
    const run = await runCase({
      faults: [{ kind: "failed", stdoutChars: 1200, exitCode: 137, document: "Probe" }],
    });
    const r = expectEscalated(run);
    expectCollectFailed(r, /probe Failed \(exit 137\)/);
    const kept = r.artifacts.find((a) => a.name === "evidence/probe-before.txt");
    expect(kept?.bytes).toBe(1200);
    expectNoAction(run);
    await expectArtifactsKept(r);
  }, 120_000);

  it("dynalite stopped after the diagnosis (before the plan): no action; the S3 index says the record could not be read; escalated", async () => {
    await ensureLabDown();
    const run = await runCase({ before: { PlanMitigation: () => aws.stopServer("dynamodb") } });
    try {
      const closed = run.published.find((p) => p.state === "NotifyResult")?.input as
        | { Message: { status: string; summary: string } }
        | undefined;
      expect(closed?.Message.status, JSON.stringify(run.published).slice(0, 1500)).toBe("escalated");
      expect(run.documents.filter((d) => /KillIdle|Restart|CheckHealth/.test(d))).toEqual([]);
      const index = await s3Text(`incidents/${run.incidentId}/postmortem.md`);
      expect(index).toMatch(/escalated.*the record could not be read/);
      expect(index).toMatch(/ECONNREFUSED|connect/i);
    } finally {
      await aws.startServer("dynamodb");
    }
    // The record as Diagnose left it is intact, and so is everything it lists.
    const store = new DynamoIncidentStore({ client: aws.dynamodb(), tableName: TABLE });
    const r = incidentRecordSchema.parse(await store.load(`${run.incidentId}/${run.instance}`));
    expect(r.evidence.before).not.toBeNull();
    expect(r.artifacts.map((a) => a.name)).toContain("evidence/evidence-before.json");
    await expectArtifactsKept(r);
  }, 180_000);

  it("the target recovers by itself before the mitigation: nothing is changed; escalated with the reason", async () => {
    await ensureLabDown();
    expect(holders.length).toBeGreaterThan(0);
    const run = await runCase({
      before: {
        PlanMitigation: async () => {
          // The vanished clients come back and close their sockets: the service answers again.
          for (const pid of holders.splice(0)) process.kill(pid, "SIGKILL");
          await until("the lab answers again", async () => (await probeHealth(PORT, 2000)).ok, 60_000);
        },
      },
    });
    const r = expectEscalated(run);
    expect(r.statusReason).toMatch(/recovered on its own/);
    expect(r.evidence.before?.health.outcome).not.toBe("ok");
    expect(run.documents.some((d) => d.includes("CheckHealth"))).toBe(true);
    expectNoAction(run);
    const skipped = r.actions.find((a) => a.action === "kill-idle-connections");
    expect(skipped?.status).toBe("skipped");
    expect(skipped?.reason).toMatch(/recovered on its own/);
    await expectArtifactsKept(r);
  }, 240_000);

  it("s3rver stopped when the mitigation starts: the action runs on saved evidence, its output is kept in the record; the run escalates", async () => {
    await ensureLabDown();
    const run = await runCase({ before: { ApplyMitigation: () => aws.stopServer("s3") } });
    await aws.startServer("s3");
    // The postmortem could not be written: the runbook-failure escalation went out instead.
    expect(run.error?.message ?? "").toMatch(/see the escalation notification/);
    const failure = run.published.find((p) => p.state === "NotifyRunbookFailure")?.input as
      | { Message: { failure: { Cause?: string } } }
      | undefined;
    expect(JSON.stringify(failure?.Message.failure ?? null)).toMatch(/ECONNREFUSED|connect/i);
    const r = run.record;
    if (!r) throw new Error("no record");
    // Evidence was saved before the store went away; the kill ran on it and its output is in the record.
    const kills = r.actions.filter((a) => a.action === "kill-idle-connections");
    expect(kills.length).toBe(1);
    const evidenceSaved = r.steps.find((s) => s.id === "save-evidence");
    expect(evidenceSaved?.status).toBe("ok");
    expect(Date.parse(evidenceSaved?.endedAt ?? "")).toBeLessThanOrEqual(
      Date.parse(kills[0]?.startedAt ?? ""),
    );
    const notStored = r.errors.filter((e) => e.name === "ArtifactNotStored");
    expect(
      notStored.some((e) => /actions\/1-kill-idle-connections-main\.txt[\s\S]*result=/.test(e.message)),
    ).toBe(true);
    expect(r.endedAt).not.toBeNull();
    await expectArtifactsKept(r);
  }, 240_000);

  it("ApplyMitigation retried after a crash during the kill: the kill is not sent twice; escalated with the reason", async () => {
    await ensureLabDown();
    const ssm = aws.ssm;
    if (!ssm) throw new Error("no SSM server");
    let attempts = 0;
    let zombie: Promise<unknown> | null = null;
    const run = await runCase({
      wrap: (h) => {
        const apply = h.ApplyMitigation as LocalHandler;
        h.ApplyMitigation = async (input) => {
          attempts++;
          if (attempts > 1) return apply(input);
          // First attempt: the kill is sent, then the function dies while waiting for its result.
          ssm.injectFault({ kind: "hang", op: "GetCommandInvocation", document: "KillIdle", times: 1 });
          const stuck = ssm.waitForEvent(
            (e) => e.op === "GetCommandInvocation" && e.fault === "hang",
            120_000,
          );
          zombie = apply(input).catch((e: unknown) => e);
          const sent = await stuck;
          await ssm.finished(sent.commandId ?? "", 120_000);
          throw Object.assign(new Error("the function's sandbox was lost"), {
            name: "Lambda.ServiceException",
          });
        };
      },
    });
    expect(attempts).toBe(2);
    expect(zombie).not.toBeNull();
    const r = expectEscalated(run);
    // One kill command reached the host, from the first attempt; the retry found its claim.
    expect(run.documents.filter((d) => d.includes("KillIdle")).length).toBe(1);
    expect(r.statusReason).toMatch(/Outcome unknown.*claimed by an earlier attempt/);
    const applies = r.steps.filter((s) => s.id === "apply");
    expect(applies.map((s) => s.error?.name)).toEqual(["AttemptLost", "RetriedAfterCrash"]);
    expect(r.actions.filter((a) => a.action === "kill-idle-connections").map((a) => a.status)).toEqual([
      "failed",
    ]);
    await expectArtifactsKept(r);
  }, 240_000);

  it("the target dies after the diagnosis: nothing is killed or restarted; escalated", async () => {
    await ensureLabDown();
    const run = await runCase({
      before: {
        PlanMitigation: async () => {
          process.kill(labPid, "SIGKILL");
          await until("the lab JVM is gone", () => !isAlive(labPid), 30_000);
        },
      },
    });
    const r = expectEscalated(run);
    expect(run.documents.filter((d) => /Restart/.test(d))).toEqual([]);
    expect(r.statusReason).toMatch(/nothing listens on port 19700 any more.*went away/);
    expectNoAction(run);
    await expectArtifactsKept(r);
  }, 240_000);
});
