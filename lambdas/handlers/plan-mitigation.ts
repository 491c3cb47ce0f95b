import * as z from "zod";
import { targetStepSchema } from "./inputs.js";
import { instrument } from "./instrument.js";
import { parseInput } from "./parse.js";
import { env } from "./wiring.js";
import { workflowSteps } from "./workflow-wiring.js";

// Plans from the stored diagnosis: no host command, no notification.
const steps = workflowSteps();

const inputSchema = targetStepSchema.extend({
  diagnosisKey: z.string().nullable(),
  classId: z.string().nullable(),
});

/** Plan: the mitigation ladder for this target's class, stored as data; `actionable` feeds the Choice. */
export const handler = instrument("PlanMitigation", async (event: unknown) => {
  const input = parseInput("PlanMitigation", inputSchema, event);
  return await steps().planMitigation({ ...input, service: env().SERVICE });
});
