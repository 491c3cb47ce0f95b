import * as z from "zod";
import { budgetRequests, budgetWindow, decideFleetBrakeWithHealth } from "../core/events/fleet-brake.js";
import { modeSchema } from "../core/incident/schema.js";
import { incidentIdSchema } from "./inputs.js";
import { instrument, logger, metrics } from "./instrument.js";
import { parseInput } from "./parse.js";
import { env, systemClock } from "./wiring.js";
import { fleetBudget } from "./wiring-dynamo.js";
import { targetGroupHealth } from "./wiring-elb.js";

const inputSchema = z.object({
  incidentId: incidentIdSchema,
  mode: modeSchema.default("approve"),
  groupSize: z.number().int().nonnegative(),
  /** The alarm's target group (ResolveTargets), or null. */
  targetGroupArn: z.string().startsWith("arn:").nullable().default(null),
  diagnoses: z.array(z.object({ target: z.string(), classId: z.string().nullable().default(null) }).loose()),
});

/**
 * Fleet brake, after diagnosis and before any mitigation: reads the target groups' health (the alarm's
 * and the configured FLEET_TARGET_GROUPS), never lets the last healthy targets be acted on, brakes on a
 * fleet-wide share, then spends the fleet budget (DynamoDB, conditional: at most FLEET_BUDGET targets
 * per group and class per window across executions). Any brake → NotifyFleetBrake → the postmortem
 * closes every diagnosed record as braked. An error reading health or the budget fails the state (the
 * state machine escalates it): never a silent go-ahead.
 */
export const handler = instrument("FleetBrake", async (event: unknown) => {
  const input = parseInput("FleetBrake", inputSchema, event);
  const e = env();
  const arns = [...(input.targetGroupArn ? [input.targetGroupArn] : []), ...e.FLEET_TARGET_GROUPS];
  const groups = arns.length ? await targetGroupHealth(arns) : [];
  let decision = decideFleetBrakeWithHealth({
    diagnoses: input.diagnoses,
    groupSize: input.groupSize,
    maxShare: e.FLEET_BRAKE_SHARE,
    targetGroups: groups,
    minHealthy: e.FLEET_MIN_HEALTHY,
  });
  // Plan mode changes nothing: it spends no budget.
  const requests = budgetRequests(input.diagnoses, groups);
  if (!decision.brake && input.mode !== "plan" && requests.length) {
    const spent = await fleetBudget().spend(requests, {
      max: e.FLEET_BUDGET,
      window: budgetWindow(systemClock.now(), e.FLEET_BUDGET_WINDOW_SECONDS),
      incidentId: input.incidentId,
    });
    if (!spent.ok)
      decision = {
        brake: true,
        classId: spent.refused.classId,
        affected: spent.refused.units,
        groupSize: decision.groupSize,
        reason: `fleet budget: ${spent.reason}: escalating instead of mitigating`,
      };
  }
  if (decision.brake) metrics.addMetric("FleetBrake", "Count", 1);
  logger.info("fleet brake", { incidentId: input.incidentId, groups: arns.length, ...decision });
  return decision;
});
