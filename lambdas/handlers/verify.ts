import * as z from "zod";
import { parseInput, targetStepSchema } from "./inputs.js";
import { instrument } from "./instrument.js";
import { env } from "./wiring.js";
import { stateMachineSteps } from "./workflow-wiring.js";

const inputSchema = targetStepSchema.extend({ actionsKey: z.string().nullable() });

/** Verify: health and key figures after mitigation (check-health + probe through SSM). */
export const handler = instrument("Verify", async (event: unknown) => {
  const input = parseInput("Verify", inputSchema, event);
  return await stateMachineSteps().verify({ ...input, service: env().SERVICE });
});
