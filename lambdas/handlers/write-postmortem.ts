import * as z from "zod";
import { modeSchema } from "../core/incident/schema.js";
import { incidentIdSchema } from "./inputs.js";
import { instrument } from "./instrument.js";
import { parseInput } from "./parse.js";
import { postmortemSteps } from "./workflow-wiring-postmortem.js";

const outcomeSchema = z.object({
  target: z.string(),
  classId: z.string().nullable().default(null),
  diagnosisKey: z.string().nullable().default(null),
  planKey: z.string().nullable().default(null),
  actionsKey: z.string().nullable().default(null),
  verificationKey: z.string().nullable().default(null),
  recovered: z.boolean().nullable().default(null),
  outcome: z.string().default("unknown"),
  error: z.object({ name: z.string(), message: z.string() }).nullable().default(null),
  /** Declined / approval-timeout: the approval task's caught error `{Error, Cause?}`. */
  answer: z.object({ Error: z.string(), Cause: z.string().optional() }).loose().nullable().default(null),
});

const inputSchema = z.object({
  incidentId: incidentIdSchema,
  alarmKey: z.string().min(1),
  mode: modeSchema,
  targets: z.array(outcomeSchema).default([]),
  /**
   * What CollectAndDiagnose left (`[]` when it never ran): a diagnosed target with no outcome (the fleet
   * brake stopped the run, or MitigateEach failed as a whole) still gets its record closed and written up.
   */
  diagnoses: z
    .array(
      z
        .object({
          target: z.string(),
          classId: z.string().nullable().default(null),
          diagnosisKey: z.string().nullable().default(null),
        })
        .loose(),
    )
    .default([]),
  cooldown: z
    .array(z.object({ target: z.string(), heldBy: z.string().nullable(), until: z.string().nullable() }))
    .default([]),
  brake: z
    .object({
      brake: z.boolean(),
      classId: z.string().nullable().default(null),
      affected: z.number(),
      groupSize: z.number(),
      reason: z.string(),
    })
    .nullable()
    .default(null),
  /** Step Functions' caught error `{Error, Cause}`, or `{}` when nothing failed. */
  failure: z
    .object({ Error: z.string().optional(), Cause: z.string().optional() })
    .loose()
    .nullable()
    .default(null),
});

/** Postmortem: built from the records alone, rendered to S3; returns its key for the notification. */
export const handler = instrument("WritePostmortem", async (event: unknown) => {
  const { failure, diagnoses, ...input } = parseInput("WritePostmortem", inputSchema, event);
  const seen = new Set(input.targets.map((t) => t.target));
  const unfinished = diagnoses
    .filter((d) => !seen.has(d.target))
    .map((d) =>
      outcomeSchema.parse({
        target: d.target,
        classId: d.classId,
        diagnosisKey: d.diagnosisKey,
        outcome: input.brake?.brake ? "braked" : "not-mitigated",
      }),
    );
  return await postmortemSteps().writePostmortem({
    ...input,
    targets: [...input.targets, ...unfinished],
    failure: failure?.Error ? { error: failure.Error, cause: failure.Cause ?? "" } : null,
  });
});
