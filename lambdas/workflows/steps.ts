import type { Evidence } from "../core/evidence/schema.js";
import { type InFlightAction, keyFigures } from "../core/incident/record.js";
import type { ActionResult, IncidentRecord, PlannedAction } from "../core/incident/schema.js";
import { parseKeyValues } from "../core/mitigation/action-output.js";
import { evidenceLogDir } from "../core/mitigation/actions/delete-rotated-logs.js";
import { commandSummary, interpretOutputs } from "../core/mitigation/actions/outcome.js";
import { actionModule } from "../core/mitigation/actions/registry.js";
import type { ActionContext, ScriptOutput, ScriptRun } from "../core/mitigation/actions/types.js";
import {
  HEALTH_CHECK_COMMAND,
  type HealthCheckParams,
  healthCheckRun,
  parseHealthChecks,
} from "../core/mitigation/health-check.js";
import type { HostCommand } from "../core/mitigation/host-command.js";
import { ladderOf, planMitigation } from "../core/mitigation/plan.js";
import { targetProcess } from "../core/mitigation/target-process.js";
import { dataOf } from "../core/shared/section.js";
import type { CommandResult } from "../ports/index.js";
import { errorInfo, keepArtifact, storeArtifact } from "./artifacts.js";
import type { WorkflowDeps } from "./deps.js";
import { probeParameters } from "./probe-parameters.js";
import type { Recorder } from "./recorder.js";

/**
 * The runbook's steps over one execution record. The CLI runs them in sequence in-process;
 * each Lambda of the state machine runs one of them on the record loaded from the store.
 */

export interface TargetOptions {
  readonly target: string;
  readonly port: number;
  readonly pid: number | null;
  readonly healthPath: string;
  readonly logPath: string | null;
  readonly restart: { readonly service: string | null; readonly command: string | null } | null;
  /** The systemd unit to ask about a process that is gone, when not given for a restart. */
  readonly service?: string | null;
}

export type Phase = "before" | "after-relief" | "after";

const EVIDENCE_SLOT: Record<Phase, keyof IncidentRecord["evidence"]> = {
  before: "before",
  "after-relief": "afterRelief",
  after: "after",
};

/** The host folder under which the probe keeps raw outputs when it runs through SSM (SSM_rawBase). */
export const DEFAULT_RAW_BASE = "/var/tmp/runbook-autopilot";

export function runProbe(
  deps: Pick<WorkflowDeps, "runner" | "runbook" | "scripts">,
  t: TargetOptions,
  parameters: Record<string, string>,
): Promise<CommandResult> {
  return deps.runner.run(t.target, {
    name: "probe",
    scriptPath: deps.runbook.probe.script,
    script: deps.scripts?.[deps.runbook.probe.script] ?? null,
    parameters,
    timeoutMs: (deps.runbook.probe.timeoutSeconds + 15) * 1000,
  });
}

/** Runs the probe, keeps its raw output whatever happens, and parses it into Evidence. */
export async function collect(
  deps: WorkflowDeps,
  rec: Recorder,
  t: TargetOptions,
  phase: Phase,
): Promise<Evidence | null> {
  const parameters = probeParameters(
    deps,
    { ...t, pid: currentPid(rec.record, t) },
    deps.rawDirFor(rec.record.incidentId, phase),
  );
  const ownStep = phase !== "after";
  if (ownStep)
    await rec.begin(phase === "before" ? "collect" : "collect-after-relief", {
      target: t.target,
      phase,
      parameters,
    });
  deps.log.info(`collecting evidence (${phase})`);
  const result = await runProbe(deps, t, parameters);
  const evidence = await recordProbe(deps, rec, t, phase, result);
  if (evidence && phase === "after-relief") await confirmAfterRelief(deps, rec, evidence);
  return evidence;
}

/**
 * With descriptors freed, the evidence the fd limit hid (the class histogram) is there: diagnose it
 * again and keep the result with the step, so the record says whether it confirms the first call.
 */
async function confirmAfterRelief(deps: WorkflowDeps, rec: Recorder, evidence: Evidence): Promise<void> {
  let confirmation: Record<string, unknown>;
  try {
    const d = deps.runbook.diagnose(evidence);
    const leak = d.findings.find((f) => f.id === rec.record.diagnosis?.rootCause.id);
    confirmation = {
      firstCall: rec.record.diagnosis?.rootCause.id ?? null,
      rootCause: d.rootCause.id,
      confidence: d.rootCause.confidence,
      variant: leak?.variant ?? null,
      confirms: d.rootCause.id === rec.record.diagnosis?.rootCause.id,
      histogram: evidence.classHistogram.status,
    };
  } catch (e) {
    confirmation = { error: errorInfo(e).message };
  }
  await rec.patchLastStep("collect-after-relief", (s) => ({ ...s, outputs: { ...s.outputs, confirmation } }));
}

/**
 * Keeps a probe's output (stdout and stderr as artifacts), parses it and records the Evidence.
 * On AWS the probe ran through SSM in earlier states and arrives here as a CommandResult.
 */
export async function recordProbe(
  deps: WorkflowDeps,
  rec: Recorder,
  t: TargetOptions,
  phase: Phase,
  result: CommandResult,
): Promise<Evidence | null> {
  const stepId =
    phase === "before" ? "collect" : phase === "after-relief" ? "collect-after-relief" : "verify";
  const ownStep = stepId !== "verify";
  // Nothing is lost: the probe's own output is stored before anything can fail on it.
  // With the artifact store down, the start of the output goes into the record (keepArtifact) and the
  // parsed evidence below is kept in the record itself.
  const stored: NonNullable<Awaited<ReturnType<typeof keepArtifact>>>[] = [];
  for (const [name, body] of [
    [`evidence/probe-${phase}.txt`, result.stdout],
    [`evidence/probe-${phase}.stderr.txt`, result.stderr],
  ] as const) {
    const ref = body ? await keepArtifact(deps, rec, name, body) : null;
    if (ref) stored.push(ref);
  }

  const collectedAt = rec.now();
  const commandInfo = commandSummary(result);
  const failed = async (name: string, message: string) => {
    if (ownStep)
      await rec.end(stepId, {
        status: "failed",
        outputs: { command: commandInfo, artifacts: stored },
        error: { name, message },
      });
    else await rec.update((r) => ({ ...r, errors: [...r.errors, { step: stepId, name, message }] }));
  };
  if (!result.stdout.trim()) {
    await failed(
      "CollectError",
      `probe produced no output (${result.status}${result.detail ? `: ${result.detail}` : ""})`,
    );
    return null;
  }
  const parsed = deps.parseEvidence(result.stdout, { target: t.target, collectedAt });
  if (result.status !== "Success") {
    // A probe cut off (Failed, TimedOut...) leaves partial output: kept above as an artifact, never a
    // basis for action. The record names the command's status; the run escalates.
    const exit = result.exitCode === null ? "" : ` (exit ${result.exitCode})`;
    const unread = parsed.ok ? "" : `; it could not be read: ${parsed.message}`;
    await failed(
      "ProbeFailed",
      `probe ${result.status}${exit}${result.detail ? ` [${result.detail}]` : ""}: ${result.stdout.length} characters of partial output kept in evidence/probe-${phase}.txt, not used as evidence${unread}`,
    );
    return null;
  }
  if (!parsed.ok) {
    await failed("EvidenceParseError", `probe output could not be read: ${parsed.message}`);
    return null;
  }
  const evidence = parsed.value;
  await rec.update((r) => ({ ...r, evidence: { ...r.evidence, [EVIDENCE_SLOT[phase]]: evidence } }));
  if (ownStep) {
    const unavailable = Object.entries(evidence)
      .filter(
        ([, v]) => typeof v === "object" && v !== null && (v as { status?: string }).status === "unavailable",
      )
      .map(([k, v]) => `${k}: ${(v as { reason: string }).reason}`);
    await rec.end(stepId, {
      status: "ok",
      outputs: { command: commandInfo, keyFigures: keyFigures(evidence), unavailable, artifacts: stored },
      note: unavailable.length ? `${unavailable.length} section(s) unavailable` : null,
    });
  }
  return evidence;
}

export async function diagnoseStep(deps: WorkflowDeps, rec: Recorder): Promise<void> {
  const evidence = rec.record.evidence.before;
  await rec.begin("diagnose");
  if (!evidence) {
    await rec.end("diagnose", {
      status: "skipped",
      note: "No evidence was collected, so no diagnosis; the run escalates.",
    });
    return;
  }
  try {
    const diagnosis = deps.runbook.diagnose(evidence);
    await rec.update((r) => ({ ...r, diagnosis }));
    await rec.end("diagnose", {
      status: "ok",
      outputs: {
        rootCause: diagnosis.rootCause,
        findings: diagnosis.findings.map((f) => ({ id: f.id, confidence: f.confidence })),
        ruledOut: diagnosis.ruledOut.map((r) => r.id),
      },
    });
  } catch (e) {
    await rec.end("diagnose", { status: "failed", error: errorInfo(e) });
  }
}

/** Evidence before action: writes evidence.json and diagnosis.json and records their sha256. */
export async function saveEvidenceStep(deps: WorkflowDeps, rec: Recorder): Promise<boolean> {
  await rec.begin("save-evidence");
  if (!rec.record.evidence.before) {
    await rec.end("save-evidence", {
      status: "skipped",
      note: "No evidence was collected: nothing to save.",
    });
    return false;
  }
  try {
    const r = rec.record;
    const saved = [await storeArtifact(deps, rec, "evidence/evidence-before.json", json(r.evidence.before))];
    if (r.diagnosis) saved.push(await storeArtifact(deps, rec, "evidence/diagnosis.json", json(r.diagnosis)));
    await rec.end("save-evidence", { status: "ok", outputs: { artifacts: saved } });
    return true;
  } catch (e) {
    await rec.end("save-evidence", { status: "failed", error: errorInfo(e) });
    return false;
  }
}

export function actionContext(rec: Recorder, t: TargetOptions): ActionContext {
  const { before, afterRelief } = rec.record.evidence;
  const target = targetProcess(before, afterRelief);
  const pid = target.ok ? target.pid : (dataOf(before?.process)?.pid ?? t.pid);
  return {
    port: t.port,
    healthPath: t.healthPath,
    pid,
    restart: t.restart,
    process: target,
    histogramMissing: before?.classHistogram.status === "unavailable",
    logDir: evidenceLogDir(before),
  };
}

/**
 * The PID the probe should look at now: after a restart this run applied, the new process (the one
 * the diagnosis named is gone); otherwise the operator's `--pid`, or empty for the port's listener.
 */
export function currentPid(record: IncidentRecord, t: TargetOptions): number | null {
  // An action that replaced the process (restart-service) says so with `newPid` in its details.
  const restarted = record.actions.findLast((a) => a.status === "applied" && "newPid" in a.details);
  if (restarted) return typeof restarted.details.newPid === "number" ? restarted.details.newPid : null;
  return t.pid;
}

export async function planStep(deps: WorkflowDeps, rec: Recorder, t: TargetOptions): Promise<void> {
  const r = rec.record;
  const classId = r.diagnosis?.rootCause.id ?? "unknown";
  const hostHealthy = r.evidence.before?.health.outcome === "ok";
  const chosen = ladderOf(deps.runbook.ladders, classId, r.diagnosis);
  await rec.begin("plan", { classId, ...chosen.inputs, hostHealthy, mode: r.mode });
  try {
    const ladder = r.evidence.before ? chosen.ladder : [{ action: "escalate" }];
    const plan = planMitigation({
      classId,
      ladder,
      mode: r.mode,
      context: actionContext(rec, t),
      hostHealthy,
      cooldownSeconds: deps.runbook.cooldownSeconds,
    });
    await rec.update((x) => ({ ...x, plan }));
    await rec.end("plan", { status: "ok", outputs: { rungs: plan.ladder.map((a) => a.action) } });
  } catch (e) {
    await rec.end("plan", { status: "failed", error: errorInfo(e) });
  }
}

export interface ApplyOutcome {
  readonly healthy: boolean;
  readonly stopReason:
    | "healthy"
    | "planned"
    | "declined"
    | "cooldown"
    | "escalated"
    | "exhausted"
    | "no-plan"
    | "recovered-on-its-own"
    | "target-gone"
    | "unknown-outcome"
    | "awaiting-approval";
  readonly reason: string;
  /** With "awaiting-approval": the rung whose approval was asked for (the ladder resumes there). */
  readonly awaitingRung?: number;
}

/**
 * Applies the plan per mode, rung by rung, with a health check after each destructive rung.
 * Its outcome is kept in the apply step's outputs, so the final status can be derived from the record.
 */
export async function applyStep(deps: WorkflowDeps, rec: Recorder, t: TargetOptions): Promise<ApplyOutcome> {
  const outcome = await applyLadder(deps, rec, t);
  await rec.patchLastStep("apply", (s) => ({ ...s, outputs: { ...s.outputs, ...outcome } }));
  return outcome;
}

async function applyLadder(deps: WorkflowDeps, rec: Recorder, t: TargetOptions): Promise<ApplyOutcome> {
  const plan = rec.record.plan;
  await rec.begin("apply", { mode: rec.record.mode });
  if (!plan) {
    await rec.end("apply", { status: "skipped", note: "No plan: nothing applied." });
    return { healthy: false, stopReason: "no-plan", reason: "there was no mitigation plan" };
  }
  const hostHealthy = rec.record.evidence.before?.health.outcome === "ok";
  const push = (a: ActionResult) => rec.update((r) => ({ ...r, actions: [...r.actions, a] }));

  if (plan.mode === "plan") {
    for (const a of plan.ladder) {
      const at = rec.now();
      await push(
        result(a, "planned", at, at, a.blockedReason ?? "mode plan: printed, not applied", {}, null),
      );
    }
    await rec.end("apply", { status: "skipped", note: "Mode plan: nothing was changed on the host." });
    return hostHealthy
      ? { healthy: true, stopReason: "healthy", reason: "the host answered its own health probe" }
      : {
          healthy: false,
          stopReason: "planned",
          reason: "mode plan: the plan was printed and nothing applied",
        };
  }

  // Evidence before action: the saved evidence artifact must exist with its digest.
  const evidenceSaved = rec.record.artifacts.some((a) => a.name === "evidence/evidence-before.json");
  let lockHeld = false;
  let prechecked = false;
  // Resuming (per-rung approval on the state machine): rungs an earlier call already recorded stay done.
  const done = new Set(rec.record.actions.map((x) => x.rung));
  for (const a of plan.ladder) {
    if (done.has(a.rung)) continue;
    const started = rec.now();
    const action = actionModule(a.action);
    if (!action.command) {
      // An action that changes nothing on the host tells people, and the ladder stops there.
      const subject = `${rec.record.runbook} on ${rec.record.target}: ${plan.classId}`;
      const message = `${rec.record.diagnosis?.rootCause.summary ?? "No diagnosis."} Incident ${rec.record.incidentId}.`;
      const notified = await deps.notify(subject, message).catch((e) => {
        deps.log.warn("notify failed", { error: String(e) });
        return [] as string[];
      });
      await push(result(a, "applied", started, rec.now(), a.description, { notified }, null));
      if (action.escalates) {
        await rec.update((r) => ({ ...r, escalation: { reason: "the ladder reached escalate", notified } }));
      }
      await rec.end("apply", { status: "ok", note: `stopped at ${a.action}` });
      return hostHealthy
        ? { healthy: true, stopReason: "healthy", reason: "the host answered its own health probe" }
        : { healthy: false, stopReason: "escalated", reason: `the ladder reached ${a.action}` };
    }
    if (a.blockedReason) {
      await push(result(a, "skipped", started, rec.now(), a.blockedReason, {}, null));
      continue;
    }
    if (!evidenceSaved) {
      await push(
        result(
          a,
          "skipped",
          started,
          rec.now(),
          "evidence was not saved: no action runs without it",
          {},
          null,
        ),
      );
      continue;
    }
    const answer = plan.mode === "approve" ? await deps.approve(a) : true;
    if (answer === "pending") {
      await rec.end("apply", { status: "ok", note: `rung ${a.rung + 1} (${a.action}) awaits approval` });
      return {
        healthy: false,
        stopReason: "awaiting-approval",
        reason: `rung ${a.rung + 1} (${a.action}) awaits approval`,
        awaitingRung: a.rung,
      };
    }
    if (answer !== true) {
      const why = answer === false ? "a person declined this rung" : answer.declined;
      await push(result(a, "declined", started, rec.now(), why, {}, null));
      await rec.end("apply", { status: "ok", note: `rung ${a.rung + 1} (${a.action}) declined` });
      return { healthy: false, stopReason: "declined", reason: `${a.action} was declined: ${why}` };
    }
    if (deps.attemptId) {
      // Idempotency across retries: "applying rung N" is written (conditionally) before the command is
      // sent. A retried attempt (the Lambda crashed after sending) finds it and does not send it twice.
      const claim = await deps.incidents.acquireTargetLock(
        claimKey(rec, a),
        deps.attemptId,
        started,
        CLAIM_TTL_MS,
      );
      if (!claim.acquired) {
        const reason = `rung ${a.rung + 1} (${a.action}) was claimed by an earlier attempt of this step (${claim.heldBy ?? "unknown"}) that did not finish: it may have been applied, its outcome is unknown, and it was not sent again`;
        await push(result(a, "failed", started, rec.now(), reason, { claimedBy: claim.heldBy }, null));
        await rec.end("apply", { status: "failed", error: { name: "RetriedAfterCrash", message: reason } });
        return { healthy: false, stopReason: "unknown-outcome", reason };
      }
      await rec.patchLastStep("apply", (s) => ({
        ...s,
        outputs: { ...s.outputs, [`claimRung${a.rung + 1}`]: { attempt: deps.attemptId, at: started } },
      }));
    }
    if (!prechecked) {
      // The target may have recovered on its own since the probe (a person took minutes to approve, the
      // clients went away): never change a host that answers. One quick check before the first change.
      prechecked = true;
      const now = await healthNow(deps, t, 1);
      await rec.patchLastStep("apply", (s) => ({
        ...s,
        outputs: { ...s.outputs, healthBeforeChange: now.attempts },
      }));
      const beforeOutcome = rec.record.evidence.before?.health.outcome;
      if (now.attempts.at(-1)?.outcome === "refused" && beforeOutcome !== "refused") {
        // It answered slowly (or not at all) when diagnosed; now nothing listens: the process
        // diagnosed is gone or restarting, and the diagnosis no longer describes the host.
        const reason = `nothing listens on port ${t.port} any more (the health check was ${beforeOutcome ?? "unknown"} when diagnosed, now refused): the target went away since the diagnosis; nothing was changed`;
        if (deps.attemptId) await deps.incidents.releaseTargetLock(claimKey(rec, a), deps.attemptId);
        await push(result(a, "skipped", started, rec.now(), reason, {}, null));
        await rec.end("apply", { status: "ok", note: "the target went away before any change" });
        return { healthy: false, stopReason: "target-gone", reason };
      }
      if (now.recovered) {
        const reason =
          "the service answered its health check before this rung: it recovered on its own; nothing was changed";
        if (deps.attemptId) await deps.incidents.releaseTargetLock(claimKey(rec, a), deps.attemptId);
        await push(result(a, "skipped", started, rec.now(), reason, {}, null));
        await rec.end("apply", { status: "ok", note: "recovered on its own before any change" });
        return { healthy: true, stopReason: "recovered-on-its-own", reason };
      }
    }
    if (!lockHeld) {
      const lock = await deps.incidents.acquireTargetLock(
        rec.record.target,
        rec.record.incidentId,
        started,
        deps.runbook.cooldownSeconds * 1000,
      );
      if (lock.note) {
        deps.log.warn(`lock: ${lock.note}`);
        await rec.patchLastStep("apply", (s) => ({ ...s, outputs: { ...s.outputs, lockNote: lock.note } }));
      }
      if (!lock.acquired) {
        const reason = lock.inProgress
          ? `in progress: incident ${lock.heldBy} is mitigating target ${rec.record.target} right now (lock until ${lock.until})`
          : `target ${rec.record.target} was mitigated by incident ${lock.heldBy}; cooldown until ${lock.until}`;
        await push(result(a, "skipped", started, rec.now(), reason, {}, null));
        await rec.end("apply", { status: "ok", note: "cooldown: nothing applied" });
        return { healthy: false, stopReason: "cooldown", reason };
      }
      lockHeld = true;
    }
    deps.log.info(`rung ${a.rung + 1}: ${a.action} running`);
    const inFlight: InFlightAction = { rung: a.rung, action: a.action, startedAt: rec.now() };
    await rec.patchLastStep("apply", (s) => ({ ...s, outputs: { ...s.outputs, inFlight } }));
    const outcome = await runAction(deps, rec, t, a);
    await rec.patchLastStep("apply", (s) => ({ ...s, outputs: withoutKey(s.outputs, "inFlight") }));
    if (outcome.details.refusedTarget === true) {
      // The host said the PID is no longer the diagnosed process: no later rung acts on a stale diagnosis.
      await push({ ...outcome, healthyAfter: null });
      await rec.end("apply", { status: "ok", note: `rung ${a.rung + 1} (${a.action}) refused on the host` });
      return { healthy: false, stopReason: "target-gone", reason: outcome.reason };
    }
    const healthy = outcome.status === "applied" ? await quickHealth(deps, t) : null;
    await push({ ...outcome, healthyAfter: healthy });
    if (healthy) {
      await rec.end("apply", { status: "ok", note: `healthy after rung ${a.rung + 1} (${a.action})` });
      return { healthy: true, stopReason: "healthy", reason: `healthy after ${a.action}` };
    }
  }
  await rec.end("apply", { status: "ok", note: "ladder exhausted" });
  return {
    healthy: false,
    stopReason: "exhausted",
    reason: "every rung ran and the service is still unhealthy",
  };
}

/** Runs one rung's scripts as its action module says, and reads what they printed (core: interpretOutputs). */
async function runAction(
  deps: WorkflowDeps,
  rec: Recorder,
  t: TargetOptions,
  a: PlannedAction,
): Promise<ActionResult> {
  const started = rec.now();
  const action = actionModule(a.action);
  const command = action.command;
  const planned = action.runs(a.params, actionContext(rec, t));
  if (!planned.ok) return result(a, "skipped", started, rec.now(), planned.reason, {}, null);
  if (!command) throw new Error(`action ${a.action} has runs but no host command`);
  const outputs: ScriptOutput[] = [];
  for (const run of planned.runs) {
    const out = await runScript(deps, rec, t, a, command, run);
    outputs.push(out);
    if (!run.relief) continue;
    if (out.result.status === "Success" && out.kv.result === "ok")
      await collect(deps, rec, t, "after-relief");
    else if (out.kv.result !== "nothing-to-do") break;
  }
  const outcome = interpretOutputs(action, outputs);
  return result(a, outcome.status, started, rec.now(), outcome.reason, outcome.details, null);
}

async function runScript(
  deps: WorkflowDeps,
  rec: Recorder,
  t: TargetOptions,
  a: PlannedAction,
  command: HostCommand,
  run: ScriptRun,
): Promise<ScriptOutput> {
  const res = await deps.runner.run(t.target, {
    ...commandRequest(deps, command),
    parameters: run.parameters,
    timeoutMs: run.timeoutMs,
  });
  // The command ran: its result goes into the record even when the artifact store is down.
  await keepArtifact(
    deps,
    rec,
    `actions/${a.rung + 1}-${a.action}-${run.part}.txt`,
    `${res.stdout}\n${res.stderr}`,
  );
  return { part: run.part, relief: run.relief === true, result: res, kv: parseKeyValues(res.stdout) };
}

/** Which script a request runs: its path, and its text where the runner runs text (locally). */
function commandRequest(deps: Pick<WorkflowDeps, "scripts">, command: HostCommand) {
  return { name: command.name, scriptPath: command.script, script: deps.scripts?.[command.script] ?? null };
}

/** The conditional-write key that says "rung N of this incident on this target is being applied". */
const claimKey = (rec: Recorder, a: PlannedAction) =>
  `${rec.record.target}#apply#${rec.record.incidentId}#rung${a.rung}`;

/** How long a rung's "applying" claim is kept: far beyond any retry of the apply step. */
const CLAIM_TTL_MS = 86_400_000;

async function quickHealth(deps: WorkflowDeps, t: TargetOptions): Promise<boolean> {
  return (await healthNow(deps, t, 5)).recovered;
}

async function healthNow(deps: WorkflowDeps, t: TargetOptions, attempts: number) {
  return (await checkHealth(deps, t, { attempts, intervalSeconds: 1 })).checks;
}

async function checkHealth(deps: WorkflowDeps, t: TargetOptions, p: HealthCheckParams) {
  const run = healthCheckRun(t, p);
  const res = await deps.runner.run(t.target, { ...commandRequest(deps, HEALTH_CHECK_COMMAND), ...run });
  return { checks: parseHealthChecks(res.stdout) };
}

/** Re-probes health until it answers (bounded), then re-collects the key figures for the record. */
export async function verifyStep(deps: WorkflowDeps, rec: Recorder, t: TargetOptions): Promise<boolean> {
  const { attempts, intervalSeconds } = deps.runbook.verify;
  await rec.begin("verify", { attempts, intervalSeconds });
  const startedMs = deps.clock.now().getTime();
  const { checks } = await checkHealth(deps, t, { attempts, intervalSeconds });
  const after = await collect(deps, rec, t, "after");
  const recovered = checks.recovered && after?.health.outcome === "ok";
  const before = rec.record.evidence.before;
  const relief = rec.record.evidence.afterRelief;
  const verification = {
    recovered,
    attempts: checks.attempts.length,
    durationMs: deps.clock.now().getTime() - startedMs,
    before: before ? keyFigures(before) : null,
    afterRelief: relief ? keyFigures(relief) : null,
    after: after ? keyFigures(after) : null,
  };
  if (after) await keepArtifact(deps, rec, "evidence/evidence-after.json", json(after));
  await rec.update((r) => ({ ...r, verification }));
  await rec.end("verify", {
    status: "ok",
    outputs: { recovered, healthChecks: checks.attempts },
    note: recovered ? "the service answers its health check" : "the service did not recover",
  });
  return recovered;
}

function result(
  a: PlannedAction,
  status: ActionResult["status"],
  startedAt: string,
  endedAt: string,
  reason: string,
  details: Record<string, unknown>,
  healthyAfter: boolean | null,
): ActionResult {
  return { rung: a.rung, action: a.action, status, startedAt, endedAt, reason, details, healthyAfter };
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

function withoutKey(o: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _, ...rest } = o;
  return rest;
}
