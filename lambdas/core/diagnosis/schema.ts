import * as z from "zod";

/**
 * A failure class id: stable, kebab-case, used alike in YAML, JSON, docs and postmortems. Which ids
 * exist is the runbook's business (its `classes` and `rootCause.fallback`): the loader checks every
 * reference against the runbook it loads, so adding a class is YAML, never TypeScript.
 */
export const failureClassIdSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]*$/, "expected a kebab-case failure class id like `fd-exhaustion`");
export type FailureClassId = z.infer<typeof failureClassIdSchema>;

export const confidenceSchema = z.number().min(0).max(1);

/** One line of evidence a finding cites: a human sentence plus the field and value it rests on. */
export const evidenceLineSchema = z.object({
  text: z.string(),
  field: z.string(),
  value: z.union([z.number(), z.string(), z.boolean(), z.null()]),
});
export type EvidenceLine = z.infer<typeof evidenceLineSchema>;

export const findingSchema = z.object({
  id: failureClassIdSchema,
  title: z.string(),
  /** `cause` findings can be the root cause; `symptom` findings (fd or heap exhaustion) describe effects. */
  kind: z.enum(["cause", "symptom", "location"]),
  confidence: confidenceSchema,
  /** Which of the class's variants held (e.g. `with-histogram`, `without-attach`). */
  variant: z.string(),
  summary: z.string(),
  evidence: z.array(evidenceLineSchema),
  /** Why confidence is lower than it could be (missing sections, attach failed...). */
  caveats: z.array(z.string()),
});
export type Finding = z.infer<typeof findingSchema>;

export const ruledOutSchema = z.object({
  /** A failure class id, or a hypothesis id such as `slow-database`, `cpu-saturation`. */
  id: z.string(),
  hypothesis: z.string(),
  evidence: z.array(evidenceLineSchema),
});
export type RuledOut = z.infer<typeof ruledOutSchema>;

export const contributingFactorSchema = z.object({
  id: z.string(),
  summary: z.string(),
  evidence: z.array(evidenceLineSchema),
});

export const notEvaluatedSchema = z.object({ id: z.string(), reason: z.string() });

/**
 * Version of the Diagnosis document (docs/contracts.md says what changes it). Records written before
 * the field existed carry none: read as 1, the only version there was.
 */
export const DIAGNOSIS_SCHEMA_VERSION = 1 as const;

export const diagnosisSchema = z.object({
  schemaVersion: z.literal(DIAGNOSIS_SCHEMA_VERSION).default(DIAGNOSIS_SCHEMA_VERSION),
  rootCause: z.object({
    id: failureClassIdSchema,
    confidence: confidenceSchema,
    summary: z.string(),
  }),
  findings: z.array(findingSchema),
  ruledOut: z.array(ruledOutSchema),
  contributing: z.array(contributingFactorSchema),
  /** Hypotheses that could be neither confirmed nor ruled out, and why (evidence missing). */
  notEvaluated: z.array(notEvaluatedSchema),
  /** Rules that threw while evaluating: a finding about the runbook, never a crash. */
  ruleErrors: z.array(z.object({ ruleId: z.string(), message: z.string() })),
});
export type Diagnosis = z.infer<typeof diagnosisSchema>;
