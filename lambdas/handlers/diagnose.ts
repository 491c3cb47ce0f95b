import * as z from "zod";
import { probeOutputRefSchema, targetStepSchema } from "./inputs.js";
import { instrument } from "./instrument.js";
import { parseInput } from "./parse.js";
import { env } from "./wiring.js";
import { workflowSteps } from "./workflow-wiring.js";

// Reads the probe output and writes the diagnosis: no host command, no notification.
const steps = workflowSteps();

const inputSchema = targetStepSchema.extend({ probe: probeOutputRefSchema, alarmKey: z.string().min(1) });

/** Diagnose: probe stdout (by key) → Evidence → Diagnosis, stored by the workflow; returns keys + class. */
export const handler = instrument("Diagnose", async (event: unknown) => {
  const input = parseInput("Diagnose", inputSchema, event);
  const out = await steps().diagnose({ ...input, service: env().SERVICE });
  return { target: input.target, ...out };
});
