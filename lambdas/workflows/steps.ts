import type { Evidence } from "../core/evidence/schema.js";
import { keyFigures } from "../core/incident/record.js";
import type { IncidentRecord } from "../core/incident/schema.js";
import { evidenceLogDir } from "../core/mitigation/actions/delete-rotated-logs.js";
import { commandSummary } from "../core/mitigation/actions/outcome.js";
import type { ActionContext } from "../core/mitigation/actions/types.js";
import { ladderOf, planMitigation } from "../core/mitigation/plan.js";
import { targetProcess } from "../core/mitigation/target-process.js";
import { dataOf } from "../core/shared/section.js";
import type { CommandResult } from "../ports/index.js";
import { errorInfo, keepArtifact, storeArtifact } from "./artifacts.js";
import type { WorkflowDeps } from "./deps.js";
import { checkHealth } from "./host-checks.js";
import { probeParameters } from "./probe-parameters.js";
import type { Recorder } from "./recorder.js";

/**
 * The runbook's steps over one execution record (the apply step and its ladder: apply-step.ts). The CLI runs them in sequence in-process;
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
    acceptQueued: dataOf(before?.listener)?.acceptQueue?.current ?? null,
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

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
