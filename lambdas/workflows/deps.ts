import type { Diagnosis } from "../core/diagnosis/schema.js";
import type { Evidence } from "../core/evidence/schema.js";
import type { PlannedAction } from "../core/incident/schema.js";
import type { LadderStep } from "../core/mitigation/plan.js";
import type { Redactor } from "../core/redact/index.js";
import type { ArtifactStore, Clock, CommandRunner, IncidentStore } from "../ports/index.js";

/** What the workflow needs from the runbook file (a subset of the parsed YAML). */
export interface RunbookView {
  readonly id: string;
  readonly probe: {
    /** The probe script, relative to the runbooks folder. */
    readonly script: string;
    readonly timeoutSeconds: number;
    /** The local health check's wait for an answer (absent: the probe's own 3 s). */
    readonly healthTimeoutSeconds?: number | undefined;
    readonly idleThresholdMs: number;
    readonly histogramMode: "live" | "all";
    /** The runbook's WebSocket session classes, one per server (absent: none named). */
    readonly sessionClasses?: readonly { readonly server: string; readonly className: string }[] | undefined;
  };
  readonly ladders: Readonly<Record<string, readonly LadderStep[]>>;
  readonly cooldownSeconds: number;
  readonly verify: { readonly attempts: number; readonly intervalSeconds: number };
  /** The built-in secret patterns plus the runbook's own (`redaction:`). */
  readonly redactor: Redactor;
  /** The pure rules engine bound to this runbook. */
  diagnose(evidence: Evidence): Diagnosis;
}

/**
 * Script texts by path under the runbooks folder, loaded once by the composition root where the runner
 * runs text (locally). Null where the runner runs the SSM documents generated from those scripts (AWS).
 */
export type Scripts = Readonly<Record<string, string>> | null;

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export type RungApproval = boolean | "pending" | { readonly declined: string };

export interface WorkflowDeps {
  readonly runner: CommandRunner;
  readonly artifacts: ArtifactStore;
  readonly incidents: IncidentStore;
  readonly clock: Clock;
  readonly runbook: RunbookView;
  readonly scripts: Scripts;
  readonly log: Logger;
  /** Turns probe stdout into Evidence (pure parser), or says what is wrong with it. */
  readonly parseEvidence: (
    stdout: string,
    meta: { target: string; collectedAt: string },
  ) => { ok: true; value: Evidence } | { ok: false; message: string };
  /** Where the probe writes its raw tool outputs on the host ("" for none). */
  readonly rawDirFor: (incidentId: string, phase: string) => string;
  /** The host's base folder of raw outputs (SSM_rawBase: checked, 0700, retention); "" for none. */
  readonly rawBase?: string;
  /**
   * Asks a person to approve one destructive rung (mode approve): true / false, `{declined: why}` (a
   * decline with its reason, e.g. no answer in time), or "pending" (asked elsewhere: the state machine
   * pauses on a task token; the ladder stops here and resumes at this rung once answered).
   */
  readonly approve: (action: PlannedAction) => Promise<RungApproval>;
  /**
   * Set where a step can be retried after a crash (the Lambdas): each destructive rung is claimed under
   * this attempt id before its command is sent, so a retry never applies it twice. Unset (the CLI, one
   * process holding the target lock): no claims.
   */
  readonly attemptId?: string;
  /** Tells people; returns the channels reached. */
  readonly notify: (subject: string, message: string) => Promise<string[]>;
}
