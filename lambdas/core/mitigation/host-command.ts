import type { TargetProcess } from "./target-process.js";

/**
 * A command that runs on the host: one script under `runbooks/`, run through the CommandRunner port
 * (bash locally, an SSM Command document on EC2). Its parameters reach the script as `SSM_<name>`
 * environment variables (SSM `interpolationType: ENV_VAR`), never spliced into script text. The SSM
 * documents (lib/runbook-documents.ts) are generated from these specs, so a command is described once.
 */
export interface ParameterSpec {
  readonly description: string;
  /** The SSM document's `allowedPattern`; the script re-validates the same pattern on the host. */
  readonly allowedPattern: string;
  /** The SSM document's default. The workflows always send every parameter; this is a fallback for a person. */
  readonly default: string;
}

export interface HostCommand {
  /** Command name: `CommandRequest.name`, the key of the SSM document in SSM_DOCUMENTS, the step name. */
  readonly name: string;
  /** Script file, relative to the runbooks folder. */
  readonly script: string;
  /** The SSM document's description. */
  readonly description: string;
  /** The document step's `timeoutSeconds` (aws:runShellScript). */
  readonly executionTimeoutSeconds: number;
  readonly parameters: Readonly<Record<string, ParameterSpec>>;
}

export const ABS_PATH_OR_EMPTY = "^(/[A-Za-z0-9._/-]{1,300})?$";
/** Decimal digits, at most `digits` of them. */
export const UINT = (digits: number) => `^[0-9]{1,${digits}}$`;

export const PORT_PARAMETER: ParameterSpec = {
  description: "Application TCP port",
  allowedPattern: "^[0-9]{1,5}$",
  default: "8080",
};
export const PID_PARAMETER: ParameterSpec = {
  description: "Process id (empty: the listener of the port)",
  allowedPattern: "^([1-9][0-9]{0,9})?$",
  default: "",
};
export const START_TICKS_PARAMETER: ParameterSpec = {
  description: "Start time of pid in clock ticks after boot, from the evidence (required with pid)",
  allowedPattern: "^([0-9]{1,20})?$",
  default: "",
};
/** The diagnosed process (PID and start time), re-checked on the host; the values: `targetIdentity`. */
export const IDENTITY_PARAMETERS = { pid: PID_PARAMETER, startTicks: START_TICKS_PARAMETER } as const;
export const HEALTH_PATH_PARAMETER: ParameterSpec = {
  description: "Local health path",
  allowedPattern: "^/[A-Za-z0-9._~/-]{0,200}$",
  default: "/health",
};

/**
 * The diagnosed process as the `pid` and `startTicks` parameters of an action's script, which re-checks
 * both on the host before it touches anything (`verify_target` in runbooks/lib/action-preamble.sh: the
 * TypeScript twin decides from the saved evidence, the script from /proc). Refused: a target the evidence
 * does not identify (its reason), and, when `nothingRan` is given, a port nothing ran on (that sentence:
 * the action has nothing to act on). With `nothingRan` null, nothing running is allowed: both empty.
 */
export function targetIdentity(
  ctx: { readonly process: TargetProcess },
  nothingRan: string | null,
):
  | { readonly ok: true; readonly parameters: { readonly pid: string; readonly startTicks: string } }
  | { readonly ok: false; readonly reason: string } {
  const target = ctx.process;
  if (!target.ok) return { ok: false, reason: target.reason };
  if (target.pid === null) {
    return nothingRan === null
      ? { ok: true, parameters: { pid: "", startTicks: "" } }
      : { ok: false, reason: nothingRan };
  }
  return { ok: true, parameters: { pid: String(target.pid), startTicks: String(target.startTicks) } };
}
