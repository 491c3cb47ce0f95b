import { z } from "zod";
import { decideFleetBrake } from "../core/events/fleet-brake.js";
import { incidentIdSchema, parseInput } from "./inputs.js";
import { instrument, logger, metrics } from "./instrument.js";
import { env } from "./wiring.js";

const inputSchema = z.object({
  incidentId: incidentIdSchema,
  groupSize: z.number().int().nonnegative(),
  diagnoses: z.array(z.object({ target: z.string(), classId: z.string().nullable().default(null) }).loose()),
});

/** Fleet brake: the same class on more than the configured share of the group → stop, escalate. */
export const handler = instrument("FleetBrake", async (event: unknown) => {
  const input = parseInput("FleetBrake", inputSchema, event);
  const decision = decideFleetBrake({
    diagnoses: input.diagnoses,
    groupSize: input.groupSize,
    maxShare: env().FLEET_BRAKE_SHARE,
  });
  if (decision.brake) metrics.addMetric("FleetBrake", "Count", 1);
  logger.info("fleet brake", { incidentId: input.incidentId, ...decision });
  return decision;
});
