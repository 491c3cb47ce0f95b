import * as z from "zod";
import { targetStepSchema } from "./inputs.js";
import { instrument } from "./instrument.js";
import { parseInput } from "./parse.js";
import { env } from "./wiring.js";
import { commandRunner } from "./wiring-ssm.js";
import { workflowSteps } from "./workflow-wiring.js";

// Health checks and the probe after, on the host: the SSM runner.
const steps = workflowSteps({ runner: commandRunner });

const inputSchema = targetStepSchema.extend({ actionsKey: z.string().nullable() });

/** Verify: health and key figures after mitigation (check-health + probe through SSM). */
export const handler = instrument("Verify", async (event: unknown) => {
  const input = parseInput("Verify", inputSchema, event);
  return await steps().verify({ ...input, service: env().SERVICE });
});
