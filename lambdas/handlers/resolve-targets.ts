import {
  dedupeKeyOf,
  normalizeStateMachineInput,
  stateMachineInputSchema,
} from "../core/events/alarm-event.js";
import { planTargetResolution } from "../core/events/resolve-targets.js";
import { parseInput } from "./inputs.js";
import { instrument, logger } from "./instrument.js";
import { env, targetResolver } from "./wiring.js";

/** State 1: alarm (EventBridge event or normalised SNS alarm) → the instances to look at. */
export const handler = instrument("ResolveTargets", async (event: unknown) => {
  const { alarm, mode } = normalizeStateMachineInput(
    parseInput("ResolveTargets", stateMachineInputSchema, event),
  );
  const e = env();
  const plan = planTargetResolution(alarm, { fallbackTag: e.FALLBACK_TAG });
  const resolved = alarm.state === "ALARM" ? await targetResolver().resolve(plan) : null;
  logger.info("targets resolved", { alarmName: alarm.alarmName, plan: plan.kind, resolved });
  const targets = resolved?.targets ?? [];
  return {
    alarm,
    mode: mode ?? e.DEFAULT_MODE,
    dedupeKey: dedupeKeyOf(alarm),
    strategy: plan.kind,
    targets,
    hasTargets: targets.length > 0,
    groupSize: Math.max(resolved?.groupSize ?? 0, targets.length),
    targetGroupArn: resolved?.targetGroupArn ?? null,
    skipped: (resolved?.skipped ?? []).slice(0, 20),
    note: resolved === null ? `alarm state is ${alarm.state}, not ALARM` : resolved.note,
  };
});
