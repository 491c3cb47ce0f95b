import { incidentIdFor, resolvedSchema } from "./inputs.js";
import { instrument, logger, metrics } from "./instrument.js";
import { parseInput } from "./parse.js";
import { env, systemClock } from "./wiring.js";
import { incidentStore } from "./wiring-dynamo.js";
import { artifactStore } from "./wiring-s3.js";

/**
 * State 2: open the incident once per alarm state change (conditional put on alarm name + state-change
 * time, so EventBridge's retries and the SNS path never start a second one), then take the per-target
 * mitigation lock that is also the cooldown. Targets in cooldown are reported, not probed.
 */
export const handler = instrument("OpenIncident", async (event: unknown) => {
  const input = parseInput("OpenIncident", resolvedSchema, event);
  const now = systemClock.now().toISOString();
  const store = incidentStore();
  const opened = await store.open(
    input.dedupeKey,
    incidentIdFor(input.dedupeKey, input.alarm.stateChangeTime),
    now,
  );
  if (!opened.created) {
    logger.info("duplicate alarm delivery", { dedupeKey: input.dedupeKey, incidentId: opened.incidentId });
    metrics.addMetric("DuplicateAlarm", "Count", 1);
    return { incidentId: opened.incidentId, created: false, alarmKey: null, items: [], cooldown: [] };
  }
  const alarm = await artifactStore().put(
    `${opened.incidentId}/alarm.json`,
    `${JSON.stringify(input.alarm, null, 2)}\n`,
    "application/json",
  );
  const items: { target: string }[] = [];
  const cooldown: { target: string; heldBy: string | null; until: string | null }[] = [];
  for (const target of input.targets) {
    const lock = await store.acquireTargetLock(target, opened.incidentId, now, env().COOLDOWN_SECONDS * 1000);
    if (lock.acquired) items.push({ target });
    else cooldown.push({ target, heldBy: lock.heldBy, until: lock.until });
  }
  return {
    incidentId: opened.incidentId,
    created: true,
    alarmKey: alarm.key,
    items,
    hasItems: items.length > 0,
    cooldown,
  };
});
