import type { FleetBrakeDecision } from "../core/events/fleet-brake.js";
import type { IncidentStatus, Mode } from "../core/incident/schema.js";
import type { ArtifactStore, Clock, CommandRunner, CommandStatus, IncidentStore } from "../ports/index.js";
import type { TargetOptions } from "./steps.js";

/**
 * What the Step Functions Lambdas need from the workflows (lambdas/workflows), one call per state.
 * Everything crosses in S3-key form: Step Functions state is capped at 256 KB, so inputs and outputs
 * are incident ids, artifact keys (relative to the artifact store) and a few small fields for Choice
 * states. Evidence, diagnoses, plans and records live in S3/DynamoDB, never in the execution state.
 */

/** The service on the instances, from the construct's `service` prop. */
export interface ServiceTarget {
  readonly port: number;
  readonly healthPath: string;
  readonly logPath: string | null;
  /** systemd unit for restart-service; null: no restart rung. */
  readonly systemdUnit: string | null;
}

export interface TargetStepInput {
  readonly incidentId: string;
  /** EC2 instance id. */
  readonly target: string;
  readonly mode: Mode;
  readonly service: ServiceTarget;
}

/** The probe's SSM outcome, as the send/poll Lambdas left it. */
export interface ProbeOutputRef {
  readonly status: CommandStatus;
  readonly exitCode: number | null;
  /** Inline stdout saved by the poll Lambda (artifact key); null when there was none. */
  readonly stdoutKey: string | null;
  /** SSM cut the inline copy at 24,000 chars: read `outputUri` (SSM's own S3 copy) instead. */
  readonly stdoutTruncated: boolean;
  /** s3://bucket/<prefix>/<CommandId>/<InstanceId>/awsrunShellScript/probe/stdout, when a bucket is set. */
  readonly outputUri: string | null;
  /** Same for the `raw` step: the full raw tool outputs. */
  readonly rawOutputUri: string | null;
  readonly commandId: string | null;
  readonly detail: string | null;
}

export interface DiagnoseInput extends TargetStepInput {
  readonly probe: ProbeOutputRef;
  /** Artifact key of the normalised alarm (trigger for the record). */
  readonly alarmKey: string;
}
export interface DiagnoseOutput {
  readonly evidenceKey: string | null;
  readonly diagnosisKey: string | null;
  /** Root-cause class id, or null (nothing matched, or no evidence). Feeds the fleet brake. */
  readonly classId: string | null;
  /** Whether the service looked down on this host. */
  readonly down: boolean;
  readonly summary: string;
}

export interface PlanInput extends TargetStepInput {
  readonly diagnosisKey: string | null;
  readonly classId: string | null;
}
export interface PlanOutput {
  readonly planKey: string;
  /** False when there is nothing to apply (healthy, no class, notify-only ladder). */
  readonly actionable: boolean;
  /** One-line human description of the first rung, for the approval message. */
  readonly summary: string;
}

export interface ApplyInput extends TargetStepInput {
  readonly planKey: string;
  /**
   * Mode approve: null on the first call (the ladder stops at the first rung that needs a yes), then the
   * task-token callback's answer for one rung (`runbook approve`: who, from STS, and which rung).
   */
  readonly approval: {
    readonly rung: number;
    readonly approvedBy: string;
    readonly note: string | null;
  } | null;
}
export interface ApplyOutput {
  readonly actionsKey: string;
  readonly applied: boolean;
  readonly summary: string;
  /** Mode approve: the rung (0-based) the ladder stopped at to ask a person; null when it did not. */
  readonly awaitingRung: number | null;
  /** That rung in one line (`action: description`), for the approval request. */
  readonly awaitingSummary: string | null;
}

export interface VerifyInput extends TargetStepInput {
  readonly actionsKey: string | null;
}
export interface VerifyOutput {
  readonly recovered: boolean;
  readonly verificationKey: string;
  readonly summary: string;
}

/** One target's path through the state machine (small fields only). */
export interface TargetOutcome {
  readonly target: string;
  readonly classId: string | null;
  readonly diagnosisKey: string | null;
  readonly planKey: string | null;
  readonly actionsKey: string | null;
  readonly verificationKey: string | null;
  readonly recovered: boolean | null;
  /** Why the target's path ended where it did (declined, cooldown, plan-only, error...). */
  readonly outcome: string;
  readonly error: { readonly name: string; readonly message: string } | null;
  /** Declined / approval-timeout: how the approval task ended (`{Error, Cause?}`: who declined, or States.Timeout). */
  readonly answer?: { readonly Error: string; readonly Cause?: string | undefined } | null;
}

export interface PostmortemInput {
  readonly incidentId: string;
  readonly alarmKey: string;
  readonly mode: Mode;
  readonly targets: readonly TargetOutcome[];
  readonly cooldown: readonly {
    readonly target: string;
    readonly heldBy: string | null;
    readonly until: string | null;
  }[];
  readonly brake: FleetBrakeDecision | null;
  /** A state-machine-level failure caught on the way (Step Functions `Error`/`Cause`). */
  readonly failure: { readonly error: string; readonly cause: string } | null;
}
export interface PostmortemOutput {
  readonly postmortemKey: string;
  /** s3:// URI of the postmortem for the notification. */
  readonly postmortemUri: string;
  readonly status: IncidentStatus;
  readonly summary: string;
}

export interface StateMachineSteps {
  diagnose(input: DiagnoseInput): Promise<DiagnoseOutput>;
  planMitigation(input: PlanInput): Promise<PlanOutput>;
  applyMitigation(input: ApplyInput): Promise<ApplyOutput>;
  verify(input: VerifyInput): Promise<VerifyOutput>;
  writePostmortem(input: PostmortemInput): Promise<PostmortemOutput>;
}

/** What the composition root hands the workflows on AWS. */
export interface StateMachineStepsDeps {
  readonly runner: CommandRunner;
  readonly artifacts: ArtifactStore;
  readonly incidents: IncidentStore;
  readonly clock: Clock;
  /** Publishes to the notification topic; returns the channels reached. */
  readonly notify: (subject: string, message: string) => Promise<string[]>;
}

export type StateMachineStepsFactory = (deps: StateMachineStepsDeps) => StateMachineSteps;

/** The steps' target options for a target of the contract (no PID: the probe finds the listener's). */
export function targetOptions(input: Pick<TargetStepInput, "target" | "service">): TargetOptions {
  return {
    target: input.target,
    port: input.service.port,
    pid: null,
    healthPath: input.service.healthPath,
    logPath: input.service.logPath,
    restart: input.service.systemdUnit ? { service: input.service.systemdUnit, command: null } : null,
  };
}
