import type { ActionId, MitigationPlan, Mode, PlannedAction } from "../incident/schema.js";
import { actionModule } from "./actions/registry.js";
import type { ActionContext } from "./actions/types.js";
import { ActionParamsError } from "./errors.js";

export interface LadderStep {
  readonly action: ActionId;
  readonly params?: Readonly<Record<string, unknown>> | undefined;
}

export interface PlanInput {
  readonly classId: string;
  /** The ladder the runbook declares for the class (ordered rungs). */
  readonly ladder: readonly LadderStep[];
  readonly mode: Mode;
  readonly context: ActionContext;
  /** The host answered its own health probe: nothing on the host needs fixing. */
  readonly hostHealthy: boolean;
  readonly cooldownSeconds: number;
}

/**
 * Plan, then apply: the mitigation as plain data. Pure: the same input gives the same plan.
 * A healthy host gets a notify-only plan whatever the class says (never restart a working service).
 */
/**
 * The ladder key for a root cause: `<class>/<variant>` when the runbook has a ladder for the variant that
 * held (a slow database exhausting the pool only notifies, a leak restarts), else the class's own; null
 * when neither exists.
 */
export function ladderKeyFor(
  ladders: Readonly<Record<string, unknown>>,
  classId: string,
  variant: string | undefined,
): string | null {
  const byVariant = variant === undefined ? undefined : `${classId}/${variant}`;
  if (byVariant !== undefined && Object.hasOwn(ladders, byVariant)) return byVariant;
  return Object.hasOwn(ladders, classId) ? classId : null;
}

/**
 * The ladder for a diagnosis: the root cause's variant's (`<class>/<variant>`) when the runbook has one, else
 * the class's, else escalate; `inputs` names a variant's ladder for the plan step's record.
 */
export function ladderOf<L>(
  ladders: Readonly<Record<string, readonly L[]>>,
  classId: string,
  diagnosis:
    | { readonly findings: readonly { readonly id: string; readonly variant: string }[] }
    | null
    | undefined,
): { ladder: readonly (L | LadderStep)[]; inputs: { ladder?: string } } {
  const key = ladderKeyFor(ladders, classId, diagnosis?.findings.find((f) => f.id === classId)?.variant);
  const ladder = key === null ? undefined : ladders[key];
  return {
    ladder: ladder ?? [{ action: "escalate" }],
    inputs: key !== null && key !== classId ? { ladder: key } : {},
  };
}

export function planMitigation(input: PlanInput): MitigationPlan {
  const steps: readonly LadderStep[] = input.hostHealthy ? [{ action: "notify-only" }] : input.ladder;
  const ladder: PlannedAction[] = steps.map((step, rung) => {
    const spec = actionModule(step.action);
    const parsed = spec.params.safeParse(step.params ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ActionParamsError(
        step.action,
        rung,
        `${issue?.path.join(".") || "params"}: ${issue?.message ?? "invalid"}`,
        { cause: parsed.error },
      );
    }
    return {
      rung,
      action: step.action,
      params: parsed.data as Record<string, unknown>,
      destructive: spec.destructive,
      description: spec.describe(parsed.data, input.context),
      blockedReason: spec.blocked(input.context),
    };
  });
  return {
    classId: input.classId,
    mode: input.mode,
    ladder,
    guardrails: [
      "Evidence is saved (and its sha256 recorded) before any action runs.",
      `One mitigation per target per ${input.cooldownSeconds}s cooldown; a second run inside it does not act.`,
      "Every action is time-boxed and idempotent; each rung is followed by a health check, and the ladder stops once healthy.",
      input.mode === "plan"
        ? "Mode plan: nothing is changed on the host."
        : input.mode === "approve"
          ? "Mode approve: each destructive rung waits for a person's yes."
          : "Mode auto: destructive rungs run without asking.",
    ],
  };
}

/** Text a person reads in `plan` mode. */
export function formatPlan(plan: MitigationPlan): string {
  const lines = [`Mitigation plan for ${plan.classId} (mode ${plan.mode}):`];
  for (const a of plan.ladder) {
    const tag = a.blockedReason ? "blocked" : a.destructive ? "changes host" : "no change";
    lines.push(`  ${a.rung + 1}. ${a.action} [${tag}]: ${a.description}`);
    if (a.blockedReason) lines.push(`     blocked: ${a.blockedReason}`);
  }
  lines.push("Guardrails:");
  for (const g of plan.guardrails) lines.push(`  - ${g}`);
  return lines.join("\n");
}
