import * as z from "zod";
import { targetStepSchema } from "./inputs.js";
import { instrument } from "./instrument.js";
import { parseInput } from "./parse.js";
import { env } from "./wiring.js";
import { notify } from "./wiring-sns.js";
import { commandRunner } from "./wiring-ssm.js";
import { workflowSteps } from "./workflow-wiring.js";

// Host commands and the notify rung: the SSM runner and SNS.
const steps = workflowSteps({ runner: commandRunner, notify });

const inputSchema = targetStepSchema.extend({
  planKey: z.string().min(1),
  /**
   * Mode approve: `{approved:false}` on the first call (nothing answered yet), then the task-token
   * callback's output for one rung (`runbook approve`: `{approved:true, rung, approvedBy}`, the caller
   * ARN from STS). Mode auto: the AutoMode pass state's `{approved:false, auto:true}`.
   */
  approval: z
    .object({
      approved: z.boolean(),
      auto: z.boolean().optional(),
      rung: z.number().int().nonnegative().optional(),
      approvedBy: z.string().min(1).optional(),
      note: z.string().nullable().default(null),
    })
    .nullable()
    .default(null),
});

/**
 * Apply: runs the ladder's rungs through SSM (action documents), each bounded; evidence is saved first.
 * In approve mode it runs only the rung just approved and stops at the next one that needs a yes
 * (`awaitingRung`): the state machine asks for it and calls again.
 */
export const handler = instrument("ApplyMitigation", async (event: unknown) => {
  const { approval, ...input } = parseInput("ApplyMitigation", inputSchema, event);
  if (approval?.approved === true && approval.rung === undefined)
    throw new Error(
      "ApplyMitigation: an approval must name its rung ({approved:true, rung, approvedBy}); send it with `runbook approve`",
    );
  return await steps().applyMitigation({
    ...input,
    service: env().SERVICE,
    approval:
      approval?.approved === true && approval.rung !== undefined
        ? { rung: approval.rung, approvedBy: approval.approvedBy ?? "unknown", note: approval.note ?? null }
        : null,
  });
});
