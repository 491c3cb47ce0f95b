import { z } from "zod";
import { parseInput, targetStepSchema } from "./inputs.js";
import { instrument } from "./instrument.js";
import { env } from "./wiring.js";
import { workflowPort } from "./workflow-wiring.js";

const inputSchema = targetStepSchema.extend({
  planKey: z.string().min(1),
  /** The approval task's output in approve mode (`send-task-success --task-output`), else null. */
  approval: z
    .object({
      /** true from the approval callback; false from the AutoMode pass state (`{approved:false, auto:true}`). */
      approved: z.boolean(),
      auto: z.boolean().optional(),
      approvedBy: z.string().min(1).optional(),
      note: z.string().nullable().default(null),
    })
    .nullable()
    .default(null),
});

/** Apply: runs the ladder's rungs through SSM (action documents), each bounded; evidence is saved first. */
export const handler = instrument("ApplyMitigation", async (event: unknown) => {
  const { approval, ...input } = parseInput("ApplyMitigation", inputSchema, event);
  return await workflowPort().applyMitigation({
    ...input,
    service: env().SERVICE,
    approval:
      approval?.approved === true
        ? { approvedBy: approval.approvedBy ?? "unknown", note: approval.note ?? null }
        : null,
  });
});
