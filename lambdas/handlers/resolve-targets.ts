import { randomUUID } from "node:crypto";
import {
  dedupeKeyOf,
  isManualStart,
  manualStartSchemaFor,
  normalizeStateMachineInput,
  stateMachineInputSchemaFor,
} from "../core/events/alarm-event.js";
import {
  alarmArnOf,
  carriesTag,
  planTargetResolution,
  type ResolutionPlan,
  screenAgents,
} from "../core/events/resolve-targets.js";
import { instrument, logger, metrics } from "./instrument.js";
import { parseInput } from "./parse.js";
import { env, systemClock } from "./wiring.js";
import { agentInfo } from "./wiring-ssm.js";
import { alarmTags, targetResolver } from "./wiring-targets.js";

/**
 * State 1: alarm (EventBridge event or normalised SNS alarm) or manual start (named instances) → the
 * instances to look at. With ALARM_SELECTION_TAG set, an alarm without that tag ends the execution as
 * `selected: false` (no incident, no notification); unreadable tags are an error (escalated).
 */
export const handler = instrument("ResolveTargets", async (event: unknown) => {
  const e = env();
  const schema = isManualStart(event)
    ? manualStartSchemaFor(e.MAX_TARGETS)
    : stateMachineInputSchemaFor(e.MAX_TARGETS);
  const { alarm, mode, manual } = normalizeStateMachineInput(parseInput("ResolveTargets", schema, event), {
    now: systemClock.now().toISOString(),
    newRequestId: randomUUID,
    region: e.AWS_REGION,
  });
  const base = { alarm, mode: mode ?? e.DEFAULT_MODE, dedupeKey: dedupeKeyOf(alarm) };

  if (!manual && e.ALARM_SELECTION_TAG) {
    const tag = e.ALARM_SELECTION_TAG;
    const arn = alarmArnOf(alarm);
    if (arn === null)
      throw new Error(
        `alarm ${alarm.alarmName} has no ARN, region or account: cannot check the alarm selection tag ${tag.key}=${tag.value}`,
      );
    if (!carriesTag(await alarmTags().tagsOf(arn), tag)) {
      logger.info("alarm not selected", { alarmName: alarm.alarmName, tag });
      metrics.addMetric("AlarmNotSelected", "Count", 1);
      return {
        ...base,
        selected: false,
        strategy: "none",
        targets: [],
        hasTargets: false,
        groupSize: 0,
        targetGroupArn: null,
        skipped: [],
        note: `alarm does not carry the selection tag ${tag.key}=${tag.value}`,
      };
    }
  }

  const plan: ResolutionPlan = manual
    ? { kind: "instance", instanceIds: manual.instances }
    : planTargetResolution(alarm, { fallbackTag: e.FALLBACK_TAG });
  const resolved = manual || alarm.state === "ALARM" ? await targetResolver().resolve(plan) : null;
  const strategy = manual ? "manual" : plan.kind;
  logger.info("targets resolved", { alarmName: alarm.alarmName, plan: strategy, resolved });
  // The documents need SSM Agent ≥ 3.3.2746.0 (ENV_VAR parameters): older, offline or unmanaged
  // instances are skipped with the reason, never probed into "invalid input".
  const candidates = resolved?.targets ?? [];
  const screened = candidates.length
    ? screenAgents(candidates, await agentInfo(candidates))
    : { targets: [], skipped: [] };
  if (screened.skipped.length)
    logger.warn("targets skipped by the SSM Agent check", { skipped: screened.skipped });
  const targets = screened.targets;
  const skipped = [...screened.skipped, ...(resolved?.skipped ?? [])];
  return {
    ...base,
    selected: true,
    strategy,
    targets,
    hasTargets: targets.length > 0,
    groupSize: Math.max(resolved?.groupSize ?? 0, targets.length),
    targetGroupArn: resolved?.targetGroupArn ?? null,
    skipped: skipped.slice(0, 20),
    note:
      resolved === null
        ? `alarm state is ${alarm.state}, not ALARM`
        : candidates.length > 0 && targets.length === 0
          ? `no target can run the runbook: ${screened.skipped.map((x) => `${x.id}: ${x.reason}`).join("; ")}`.slice(
              0,
              1000,
            )
          : resolved.note,
  };
});
