import type { CommandResult } from "../../../ports/index.js";
import type { ActionModule, ScriptOutput } from "./types.js";

/** The action scripts' exit status for "refused: not the process diagnosed" (result=refused-target). */
export const REFUSED_TARGET_EXIT = 3;

/** How an action ended, read from what its scripts printed (pure). */
export interface ActionOutcome {
  readonly status: "applied" | "skipped" | "unsupported" | "failed";
  readonly reason: string;
  readonly details: Record<string, unknown>;
}

/**
 * What a run of scripts means. Every action script prints `result=` (ok, unsupported, nothing-to-do,
 * refused-*, invalid-input...) and `error=` on failure; the last run decides, earlier ones (relief
 * batches) are kept in the details under their part name.
 */
export function interpretOutputs(m: ActionModule, outputs: readonly ScriptOutput[]): ActionOutcome {
  const last = outputs.at(-1);
  if (!last) return { status: "failed", reason: `${m.id} made no run`, details: {} };
  const earlier = Object.fromEntries(outputs.slice(0, -1).map((o) => [o.part, o.kv]));
  const kv = last.kv;
  const details: Record<string, unknown> = last.relief
    ? { ...earlier, [last.part]: kv, command: commandSummary(last.result) }
    : { ...earlier, ...kv, ...(m.details?.(kv) ?? {}), command: commandSummary(last.result) };
  const res = last.result;
  if (kv.result === "refused-target" && res.exitCode === REFUSED_TARGET_EXIT) {
    // The script found on the host that the PID is no longer the process diagnosed (or may never be acted
    // on): nothing was changed, and the diagnosis no longer describes the host. The ladder stops here.
    const reason = `the host refused the target: ${kv.error ?? "the process is not the one diagnosed"}`;
    return { status: "skipped", reason, details: { ...details, refusedTarget: true } };
  }
  if (res.status !== "Success") {
    const reason =
      `${m.id} did not complete: ${res.status} ${res.detail ?? ""}${kv.error ? `: ${kv.error}` : ""}`.trim();
    return { status: "failed", reason, details };
  }
  switch (kv.result) {
    case "ok":
      return { status: "applied", reason: m.summarize(outputs), details };
    case "unsupported":
      return { status: "unsupported", reason: kv.error ?? "not supported on this host", details };
    case "nothing-to-do":
      return { status: "skipped", reason: m.nothingToDo ?? kv.error ?? "nothing to do", details };
    case "refused-blast-radius":
      return { status: "skipped", reason: kv.error ?? "blast-radius limit", details };
    default:
      return { status: "failed", reason: kv.error ?? `unexpected result '${kv.result ?? ""}'`, details };
  }
}

/** What the record keeps of a command: status and size, never the output itself (that is an artifact). */
export function commandSummary(r: CommandResult) {
  return {
    status: r.status,
    exitCode: r.exitCode,
    durationMs: r.durationMs,
    stdoutChars: r.stdout.length,
    stdoutTruncated: r.stdoutTruncated,
    outputUri: r.outputUri,
  };
}
