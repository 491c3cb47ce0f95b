import type { CommandResult } from "../../../ports/index.js";
import type { ActionModule, ScriptOutput } from "./types.js";

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
  if (res.status !== "Success") {
    const reason = `${m.id} did not complete: ${res.status} ${res.detail ?? ""}`.trim();
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
    case "refused-target":
      return { status: "skipped", reason: kv.error ?? "the script refused the target", details };
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
