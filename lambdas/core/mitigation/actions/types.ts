import { z } from "zod";
import type { CommandResult } from "../../../ports/index.js";
import type { HostCommand } from "../host-command.js";
import type { TargetProcess } from "../target-process.js";

/** What an action may know about the target when it is planned and when it runs. */
export interface ActionContext {
  readonly port: number;
  readonly healthPath: string;
  /** The PID the evidence names (or the operator's `--pid`), for descriptions. */
  readonly pid: number | null;
  readonly restart: { readonly service: string | null; readonly command: string | null } | null;
  /** The process an action may stop: exactly the one the saved evidence identified (target-process.ts). */
  readonly process: TargetProcess;
  /** The class histogram could not be taken before (the JVM could not be attached at the fd limit). */
  readonly histogramMissing: boolean;
  /**
   * Connections waiting in the listener's accept queue when the evidence was taken (absent or null:
   * unknown). At the fd limit the acceptor takes them as soon as descriptors are freed.
   */
  readonly acceptQueued?: number | null;
  /** The folder of the service's log in the saved evidence (absent or null: unknown). */
  readonly logDir?: string | null;
}

/** One run of the action's script: its parameters (the script's whole input) and its time bound. */
export interface ScriptRun {
  /** Names the run in artifacts (`actions/<rung>-<action>-<part>.txt`) and in details. */
  readonly part: string;
  readonly parameters: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /**
   * A first, partial run (a relief batch). On `result=ok` the evidence is collected again (phase
   * after-relief) before the next run; on `result=nothing-to-do` the next run goes on; on anything else
   * the action ends with this run's outcome.
   */
  readonly relief?: boolean;
}

/** What one run printed: the command's result and its `key=value` lines. */
export interface ScriptOutput {
  readonly part: string;
  readonly relief: boolean;
  readonly result: CommandResult;
  readonly kv: Readonly<Record<string, string>>;
}

/** The runs an action makes in a context, or why it refuses to make any. */
export type ActionRuns =
  | { readonly ok: true; readonly runs: readonly ScriptRun[] }
  | { readonly ok: false; readonly reason: string };

/** The runs of an action whose script runs once: one run, part `main`. */
export function mainRun(parameters: Readonly<Record<string, string>>, timeoutMs: number): ActionRuns {
  return { ok: true, runs: [{ part: "main", parameters, timeoutMs }] };
}

/**
 * One mitigation action, in one module: everything about it lives here (Robusta-style registered
 * actions). The runbook YAML names it by `id` and gives `params`; the registry (registry.ts) drives the
 * runbook's validation, the planner, the executor (lambdas/workflows/apply-step.ts), the CLI and the SSM
 * documents from these fields. How to add one: docs/rules.md, "Adding an action".
 */
export interface ActionModule<
  P extends z.ZodType<Record<string, unknown>> = z.ZodType<Record<string, unknown>>,
> {
  /** Stable kebab-case id, used in YAML, records, docs and as the SSM document's key. */
  readonly id: string;
  /** Its parameters with their defaults: the only place those defaults live. Strict (unknown keys fail). */
  readonly params: P;
  /** Changes something on the host: needs evidence saved first, the target lock, and a mode that allows it. */
  readonly destructive: boolean;
  /**
   * Its host script and SSM document. Null: the action changes nothing on the host; reaching it tells
   * people and stops the ladder.
   */
  readonly command: HostCommand | null;
  /** For an action without a command: reaching it escalates the incident (not only a notice). */
  readonly escalates?: boolean;
  /** The parameter `--idle-threshold-seconds` sets with the probe's idle threshold (seconds), if any. */
  readonly idleThresholdParam?: string;
  /** Why this action cannot run in this context, or null. */
  blocked(ctx: ActionContext): string | null;
  /** One sentence: exactly what will change (the plan text). */
  describe(params: z.infer<P>, ctx: ActionContext): string;
  /** Parameters → script input: the runs to make, in order. Only called for actions with a command. */
  runs(params: z.infer<P>, ctx: ActionContext): ActionRuns;
  /** The sentence of an applied (`result=ok`) action, from what its runs printed. */
  summarize(outputs: readonly ScriptOutput[]): string;
  /** Extra details read from the decisive run's output (kept in the record), e.g. the new PID. */
  details?(kv: Readonly<Record<string, string>>): Record<string, unknown>;
  /** The reason of a `result=nothing-to-do` outcome. @default the script's `error=` line */
  readonly nothingToDo?: string;
}

/** Identity with type inference of the params: `export default defineAction({...})`. */
export function defineAction<P extends z.ZodType<Record<string, unknown>>>(m: ActionModule<P>): ActionModule {
  return m as unknown as ActionModule;
}

/**
 * An action that runs nothing on the host (notify-only, escalate): no parameters, never blocked,
 * never destructive; reaching it sends its notice (and, with `escalates`, hands the incident over).
 */
export function defineHostlessAction(o: {
  readonly id: string;
  readonly description: string;
  readonly summary: string;
  readonly escalates?: boolean;
}): ActionModule {
  return defineAction({
    id: o.id,
    params: z.object({}).strict(),
    destructive: false,
    command: null,
    ...(o.escalates ? { escalates: true } : {}),
    blocked: () => null,
    describe: () => o.description,
    runs: () => ({ ok: true, runs: [] }),
    summarize: () => o.summary,
  });
}
