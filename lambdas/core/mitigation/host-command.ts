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
export const HEALTH_PATH_PARAMETER: ParameterSpec = {
  description: "Local health path",
  allowedPattern: "^/[A-Za-z0-9._~/-]{0,200}$",
  default: "/health",
};
