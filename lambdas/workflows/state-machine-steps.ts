import { randomUUID } from "node:crypto";
import { normalizedAlarmSchema } from "../core/events/alarm-event.js";
import { changedHost, newRecord } from "../core/incident/record.js";
import { incidentRecordSchema } from "../core/incident/schema.js";
import { resolveRunSettings, type SettingsLayer } from "../core/settings/run-settings.js";
import type { CommandResult } from "../ports/index.js";
import { applyStep } from "./apply-step.js";
import { keepArtifact, storeArtifact } from "./artifacts.js";
import { loadLambdaRunbook } from "./bundled-runbook.js";
import type { RunbookView, WorkflowDeps } from "./deps.js";
import { Recorder } from "./recorder.js";
import { redactingPorts } from "./redaction.js";
import { skipVerify } from "./run-runbook.js";
import { parseEvidence, runbookView } from "./runbook-view.js";
import type { PostmortemStep } from "./state-machine-postmortem.js";
import {
  type PostmortemInput,
  type StateMachineSteps,
  type StateMachineStepsDeps,
  type StateMachineStepsFactory,
  targetOptions,
} from "./step-contract.js";
import { diagnoseStep, planStep, recordProbe, saveEvidenceStep, verifyStep } from "./steps.js";

/**
 * The workflows behind the state machine's Lambdas: the same steps the CLI runs, one per state, over a
 * per-target execution record kept in the IncidentStore (`<incidentId>/<target>`), artifacts under
 * `<incidentId>/<target>/` in S3. Only keys and small fields cross Step Functions.
 */
export interface AwsWorkflowOptions {
  /** The runbooks folder bundled with the Lambda (RUNBOOKS_DIR). */
  readonly runbooksDir: string;
  readonly runbookId: string;
  /** Host folder where the probe leaves raw outputs (the SSM document's `raw` step ships them). */
  readonly rawDirBase: string;
  /** The construct's layer of the run settings (from the environment), over the runbook's. */
  readonly settings?: SettingsLayer;
  /**
   * The postmortem state (`postmortemStep`, state-machine-postmortem.ts): given only where it runs, the
   * WritePostmortem Lambda, so the other workflow bundles carry neither the templates nor their renderer.
   */
  readonly postmortem?: PostmortemStep;
}

/** A step's input, as the contract states it. */
type In<K extends keyof StateMachineSteps> = Parameters<StateMachineSteps[K]>[0];

export function awsStateMachineSteps(opts: AwsWorkflowOptions): StateMachineStepsFactory {
  return (deps) => new AwsStateMachineSteps(deps, opts);
}

class AwsStateMachineSteps implements StateMachineSteps {
  private loaded: Promise<{ view: RunbookView }> | null = null;

  constructor(
    private readonly deps: StateMachineStepsDeps,
    private readonly opts: AwsWorkflowOptions,
  ) {}

  private load() {
    this.loaded ??= (async () => {
      const doc = await loadLambdaRunbook(this.opts.runbookId, this.opts.runbooksDir);
      return { view: runbookView(doc, resolveRunSettings(doc, this.opts.settings)) };
    })();
    return this.loaded;
  }

  private async workflowDeps(approve: WorkflowDeps["approve"] = async () => false): Promise<WorkflowDeps> {
    const { view } = await this.load();
    return redactingPorts<WorkflowDeps>(
      {
        ...this.deps,
        runbook: view,
        // On AWS the runner sends the SSM documents generated from the scripts: no script text travels.
        scripts: null,
        log: { info: () => undefined, warn: () => undefined },
        parseEvidence,
        rawDirFor: (incidentId, phase) => `${this.opts.rawDirBase}/${incidentId}/${phase}`,
        rawBase: this.opts.rawDirBase,
        approve,
      },
      view.redactor,
    );
  }

  private keys(incidentId: string, target: string) {
    return { storeKey: `${incidentId}/${target}`, artifactPrefix: `${incidentId}/${target}` };
  }

  private async recorder(incidentId: string, target: string): Promise<Recorder> {
    const raw = await this.deps.incidents.load(`${incidentId}/${target}`);
    if (!raw) throw new Error(`no execution record for ${incidentId} on ${target}`);
    const record = incidentRecordSchema.parse(raw);
    return new Recorder(record, this.deps.incidents, this.deps.clock, this.keys(incidentId, target));
  }

  async diagnose(input: In<"diagnose">) {
    const deps = await this.workflowDeps();
    const alarmText = await this.deps.artifacts.get(input.alarmKey);
    const alarm = alarmText ? normalizedAlarmSchema.parse(JSON.parse(alarmText)) : null;
    const rec = new Recorder(
      newRecord({
        incidentId: input.incidentId,
        runbook: deps.runbook.id,
        target: input.target,
        mode: input.mode,
        trigger:
          alarm?.via === "manual"
            ? {
                kind: "manual",
                at: alarm.stateChangeTime,
                alarmName: null,
                alarmReason: alarm.reason,
                source: alarm.requestedBy ?? "unspecified",
              }
            : {
                kind: "alarm",
                at: alarm?.stateChangeTime ?? this.deps.clock.now().toISOString(),
                alarmName: alarm?.alarmName ?? null,
                alarmReason: alarm?.reason ?? null,
                source: alarm?.alarmArn ?? `eventbridge:${alarm?.alarmName ?? "unknown"}`,
              },
        at: this.deps.clock.now().toISOString(),
      }),
      this.deps.incidents,
      this.deps.clock,
      this.keys(input.incidentId, input.target),
    );
    await rec.save();
    const t = targetOptions(input);
    await rec.begin("collect", { target: input.target, phase: "before", commandId: input.probe.commandId });
    await recordProbe(deps, rec, t, "before", await this.probeResult(input.probe));
    await diagnoseStep(deps, rec);
    await saveEvidenceStep(deps, rec);
    const r = rec.record;
    const evidenceKey = r.artifacts.find((a) => a.name === "evidence/evidence-before.json")
      ? key(rec, "evidence/evidence-before.json")
      : null;
    const diagnosisKey = r.diagnosis ? key(rec, "evidence/diagnosis.json") : null;
    return {
      evidenceKey,
      diagnosisKey,
      classId: r.diagnosis?.rootCause.id ?? null,
      down: r.evidence.before ? r.evidence.before.health.outcome !== "ok" : true,
      summary: r.diagnosis?.rootCause.summary ?? r.errors.at(-1)?.message ?? "no diagnosis",
    };
  }

  /** The probe's stdout: the inline copy the poll state saved, or SSM's full copy in S3 when cut. */
  private async probeResult(p: In<"diagnose">["probe"]): Promise<CommandResult> {
    let stdout = p.stdoutKey ? ((await this.deps.artifacts.get(p.stdoutKey)) ?? "") : "";
    // Cut inline copy, or none saved (polling gave up, the poll state could not save it): SSM's own
    // S3 copy is the whole output, when there is one.
    if ((p.stdoutTruncated || !stdout) && p.outputUri)
      stdout = (await this.deps.artifacts.getUri(p.outputUri).catch(() => null)) ?? stdout;
    return {
      status: p.status,
      exitCode: p.exitCode,
      stdout,
      stderr: "",
      stdoutTruncated: p.stdoutTruncated,
      durationMs: 0,
      outputUri: p.outputUri,
      detail: p.detail,
    };
  }

  async planMitigation(input: In<"planMitigation">) {
    const deps = await this.workflowDeps();
    const rec = await this.recorder(input.incidentId, input.target);
    await planStep(deps, rec, targetOptions(input));
    const plan = rec.record.plan;
    const ref = await storeArtifact(deps, rec, "plan.json", json(plan));
    const hostHealthy = rec.record.evidence.before?.health.outcome === "ok";
    const actionable = !!plan && !hostHealthy && plan.ladder.some((a) => a.destructive && !a.blockedReason);
    const first = plan?.ladder[0];
    return {
      planKey: key(rec, ref.name),
      actionable,
      summary: first ? `${first.action}: ${first.description}` : "no plan",
    };
  }

  async applyMitigation(input: In<"applyMitigation">) {
    // A fresh id per attempt: Step Functions may retry this step after a crash, and the rung claims
    // (apply-guards.ts) tell this attempt's sends from an earlier one's.
    // Mode approve asks per rung: the rung the callback answered runs, the next one waits for its own yes.
    const approval = input.approval;
    const deps = {
      ...(await this.workflowDeps(async (a) => (approval?.rung === a.rung ? true : "pending"))),
      attemptId: randomUUID(),
    };
    const rec = await this.recorder(input.incidentId, input.target);
    const stale = rec.record.steps.findLast((s) => s.id === "apply");
    if (stale?.status === "running") {
      // An earlier attempt began and never ended: say so before this one starts.
      await rec.end("apply", {
        status: "failed",
        error: {
          name: "AttemptLost",
          message: "an earlier attempt of this step stopped before it ended (the Lambda was retried)",
        },
      });
    }
    const outcome = await applyStep(deps, rec, targetOptions(input));
    if (approval) {
      // Who approved which rung, from the task-token callback, kept with the apply step.
      await rec.patchLastStep("apply", (s) => ({ ...s, inputs: { ...s.inputs, approval } }));
    }
    // The actions are in the record already; their S3 summary failing must not fail the step.
    await keepArtifact(deps, rec, "actions.json", json(rec.record.actions));
    const awaiting = rec.record.plan?.ladder.find((a) => a.rung === outcome.awaitingRung);
    return {
      actionsKey: key(rec, "actions.json"),
      applied: changedHost(rec.record),
      summary: outcome.reason,
      awaitingRung: outcome.awaitingRung ?? null,
      awaitingSummary: awaiting
        ? `rung ${awaiting.rung + 1}: ${awaiting.action}: ${awaiting.description}`
        : null,
    };
  }

  async verify(input: In<"verify">) {
    const deps = await this.workflowDeps();
    const rec = await this.recorder(input.incidentId, input.target);
    let recovered = false;
    if (changedHost(rec.record)) recovered = await verifyStep(deps, rec, targetOptions(input));
    else
      await skipVerify(
        rec,
        String(rec.record.steps.findLast((s) => s.id === "apply")?.outputs.stopReason ?? "exhausted"),
      );
    await keepArtifact(deps, rec, "verification.json", json(rec.record.verification));
    return {
      recovered,
      verificationKey: key(rec, "verification.json"),
      summary: recovered ? "verified healthy" : "not recovered",
    };
  }

  async writePostmortem(input: PostmortemInput) {
    const step = this.opts.postmortem;
    if (!step)
      throw new Error(
        "writePostmortem: these state machine steps were built without the postmortem step (awsStateMachineSteps({ postmortem: postmortemStep(runbooksDir) }))",
      );
    const deps = await this.workflowDeps();
    const keys = (incidentId: string, target: string) => this.keys(incidentId, target);
    return step({ ports: this.deps, deps, keys }, input);
  }
}

const key = (rec: Recorder, name: string) => `${rec.artifactPrefix}/${name}`;
const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
