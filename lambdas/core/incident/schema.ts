import { z } from "zod";
import { diagnosisSchema } from "../diagnosis/schema.js";
import { evidenceSchema } from "../evidence/schema.js";

/**
 * The execution record: what a runbook run did, step by step, with the evidence it saw.
 * The postmortem is built from this alone.
 */
export const INCIDENT_SCHEMA_VERSION = 1 as const;

export const modeSchema = z.enum(["plan", "approve", "auto"]);
export type Mode = z.infer<typeof modeSchema>;

export const triggerSchema = z.object({
  kind: z.enum(["manual", "alarm"]),
  /** When the alarm changed state, or when the operator started the run. */
  at: z.iso.datetime({ offset: true }),
  alarmName: z.string().nullable(),
  alarmReason: z.string().nullable(),
  /** Who or what started it: a user name, an EventBridge rule, an alarm ARN. */
  source: z.string(),
});

export const STEP_IDS = [
  "collect",
  "diagnose",
  "save-evidence",
  "plan",
  "apply",
  "collect-after-relief",
  "verify",
  "record",
  "postmortem",
] as const;

export const stepSchema = z.object({
  id: z.enum(STEP_IDS),
  status: z.enum(["running", "ok", "failed", "skipped", "interrupted"]),
  startedAt: z.iso.datetime({ offset: true }),
  endedAt: z.iso.datetime({ offset: true }).nullable(),
  inputs: z.record(z.string(), z.unknown()),
  outputs: z.record(z.string(), z.unknown()),
  error: z.object({ name: z.string(), message: z.string() }).nullable(),
  /** Why a step was skipped or what it chose. */
  note: z.string().nullable(),
});
export type Step = z.infer<typeof stepSchema>;

export const artifactRefSchema = z.object({
  name: z.string(),
  uri: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
});
export type ArtifactRef = z.infer<typeof artifactRefSchema>;

/**
 * A mitigation action's id (kebab-case). Which ids exist is the action registry's business
 * (lambdas/core/mitigation/actions/registry.ts): a runbook naming an unknown one fails to load.
 */
export const actionIdSchema = z.string().regex(/^[a-z][a-z0-9-]*$/, "expected a kebab-case action id");
export type ActionId = z.infer<typeof actionIdSchema>;

export const plannedActionSchema = z.object({
  rung: z.number().int().nonnegative(),
  action: actionIdSchema,
  params: z.record(z.string(), z.unknown()),
  destructive: z.boolean(),
  /** Human sentence: exactly what will change on the host. */
  description: z.string(),
  /** Set when the planner already knows the rung cannot run (no restart command given...). */
  blockedReason: z.string().nullable(),
});
export type PlannedAction = z.infer<typeof plannedActionSchema>;

export const mitigationPlanSchema = z.object({
  classId: z.string(),
  mode: modeSchema,
  ladder: z.array(plannedActionSchema),
  guardrails: z.array(z.string()),
});
export type MitigationPlan = z.infer<typeof mitigationPlanSchema>;

export const actionResultSchema = z.object({
  rung: z.number().int().nonnegative(),
  action: actionIdSchema,
  status: z.enum(["applied", "planned", "skipped", "declined", "unsupported", "failed"]),
  startedAt: z.iso.datetime({ offset: true }),
  endedAt: z.iso.datetime({ offset: true }),
  reason: z.string(),
  details: z.record(z.string(), z.unknown()),
  /** Health right after this rung, when checked. */
  healthyAfter: z.boolean().nullable(),
  /**
   * When the first change on the host was sent: the first script run of this rung that reported
   * `result=ok` (the relief batch of kill-idle-connections, the restart's stop, the heap dump); null when no
   * run reported a change. Absent in records written before it existed: the postmortem then says "no later
   * than" (docs/postmortem.md, "Times that matter").
   */
  firstChangeAt: z.iso.datetime({ offset: true }).nullable().optional(),
});
export type ActionResult = z.infer<typeof actionResultSchema>;

/** The few numbers worth comparing before and after. */
export const keyFiguresSchema = z.object({
  at: z.iso.datetime({ offset: true }),
  pid: z.number().int().nullable(),
  openFds: z.number().int().nullable(),
  fdLimit: z.number().int().nullable(),
  established: z.number().int().nullable(),
  wsSessions: z.number().int().nullable(),
  healthOutcome: z.string(),
  healthLatencyMs: z.number().int().nullable(),
});
export type KeyFigures = z.infer<typeof keyFiguresSchema>;

export const verificationSchema = z.object({
  recovered: z.boolean(),
  attempts: z.number().int().nonnegative(),
  durationMs: z.number().int().nonnegative(),
  before: keyFiguresSchema.nullable(),
  /** After the first relief batch, when the histogram could only be taken then. */
  afterRelief: keyFiguresSchema.nullable().default(null),
  after: keyFiguresSchema.nullable(),
});

export const INCIDENT_STATUSES = [
  "running",
  "recovered",
  "not-down",
  "planned",
  "declined",
  "cooldown",
  "escalated",
  /** The fleet brake stopped the mitigation (a fleet-wide cause, the last healthy targets, the budget): escalated. */
  "braked",
  "failed",
  "interrupted",
] as const;
export const incidentStatusSchema = z.enum(INCIDENT_STATUSES);
export type IncidentStatus = z.infer<typeof incidentStatusSchema>;

export const incidentRecordSchema = z.object({
  schemaVersion: z.literal(INCIDENT_SCHEMA_VERSION),
  incidentId: z.string(),
  runbook: z.string(),
  target: z.string(),
  mode: modeSchema,
  trigger: triggerSchema,
  status: incidentStatusSchema,
  /** One sentence on why the run ended as it did. */
  statusReason: z.string(),
  startedAt: z.iso.datetime({ offset: true }),
  endedAt: z.iso.datetime({ offset: true }).nullable(),
  steps: z.array(stepSchema),
  evidence: z.object({
    before: evidenceSchema.nullable(),
    afterRelief: evidenceSchema.nullable(),
    after: evidenceSchema.nullable(),
  }),
  artifacts: z.array(artifactRefSchema),
  diagnosis: diagnosisSchema.nullable(),
  plan: mitigationPlanSchema.nullable(),
  actions: z.array(actionResultSchema),
  verification: verificationSchema.nullable(),
  escalation: z.object({ reason: z.string(), notified: z.array(z.string()) }).nullable(),
  errors: z.array(z.object({ step: z.string(), name: z.string(), message: z.string() })),
  /** Secret redaction of the saved record: rules applied and `[REDACTED]` markers it holds. */
  redaction: z
    .object({ rules: z.number().int().nonnegative(), markers: z.number().int().nonnegative() })
    .optional(),
});
export type IncidentRecord = z.infer<typeof incidentRecordSchema>;
