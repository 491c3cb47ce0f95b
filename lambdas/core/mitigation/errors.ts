/** Errors of the mitigation planner: a bug in the runbook, never an expected outcome. */
export class MitigationError extends Error {
  override name = "MitigationError";
}

export class ActionParamsError extends MitigationError {
  override name = "ActionParamsError";
  constructor(
    readonly action: string,
    readonly rung: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`ladder rung ${rung} (${action}): ${message}`, options);
  }
}
