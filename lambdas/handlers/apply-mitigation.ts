import { z } from "zod";
import { parseInput, targetStepSchema } from "./inputs.js";
import { instrument } from "./instrument.js";
import { env, workflowPort } from "./wiring.js";

const inputSchema = targetStepSchema.extend({
  planKey: z.string().min(1),
  /** The approval task's output in approve mode (`send-task-success --task-output`), else null. */
  approval: z
    .object({
      approved: z.literal(true),
      approvedBy: z.string().min(1),
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
