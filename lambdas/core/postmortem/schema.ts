import { z } from "zod";
import { evidenceLineSchema, failureClassIdSchema } from "../diagnosis/schema.js";
import { actionIdSchema, incidentStatusSchema, modeSchema } from "../incident/schema.js";

/**
 * The postmortem model: everything a postmortem says, computed from the execution record alone.
 * Templates only format it (Handlebars, strict mode), so every field is present: absence is `null`
 * or an empty array, never a missing key. Times are ISO strings, durations are milliseconds.
 */
export const POSTMORTEM_SCHEMA_VERSION = 1 as const;

const iso = z.iso.datetime({ offset: true });
const ms = z.number().int().nonnegative();

export const SEVERITY_LEVELS = ["SEV1", "SEV2", "SEV3", "SEV4"] as const;
export const severitySchema = z.object({
  level: z.enum(SEVERITY_LEVELS),
  /** Stable id of the rule in SEVERITY_RULES that chose the level. */
  ruleId: z.string(),
  /** Why: the rule's sentence with the record's figures. */
  reason: z.string(),
});
export type Severity = z.infer<typeof severitySchema>;

/** A table already reduced to display strings; `highlight` marks rows worth the reader's eye. */
export const tableSchema = z.object({
  id: z.string(),
  title: z.string(),
  note: z.string().nullable(),
  columns: z.array(z.string()),
  rows: z.array(z.object({ cells: z.array(z.string()), highlight: z.boolean() })),
  /** Set when the table has no rows because the evidence was not collected. */
  unavailable: z.string().nullable(),
});
export type Table = z.infer<typeof tableSchema>;

export const chartSchema = z.object({
  id: z.string(),
  title: z.string(),
  /** Markdown references the chart as a sibling file of this name; HTML inlines `svg`. */
  fileName: z.string(),
  alt: z.string(),
  svg: z.string(),
});
export type Chart = z.infer<typeof chartSchema>;

export const timelineEntrySchema = z.object({
  at: iso,
  endedAt: iso.nullable(),
  durationMs: ms.nullable(),
  kind: z.enum(["alarm", "step", "action", "recovery"]),
  title: z.string(),
  status: z.string(),
  detail: z.string(),
  /** Failed or otherwise notable entries. */
  highlight: z.boolean(),
});
export type TimelineEntry = z.infer<typeof timelineEntrySchema>;

export const keyTimeSchema = z.object({
  id: z.enum(["start", "diagnosis", "mitigation", "recovery"]),
  label: z.string(),
  at: iso.nullable(),
  /** Time since the start of the impact window. */
  sinceStartMs: ms.nullable(),
  /** Why the milestone has no time (`at` null): "not applied: plan mode", ... */
  absent: z.string().nullable(),
});

export const followUpSchema = z.object({
  id: z.string(),
  title: z.string(),
  priority: z.enum(["P1", "P2", "P3"]),
  kind: z.enum(["prevent", "mitigate", "detect", "investigate"]),
  /** Concrete text, the record's facts filled in (Markdown with inline code). */
  text: z.string(),
  snippet: z.object({ language: z.string(), code: z.string() }).nullable(),
  owner: z.string(),
});
export type FollowUp = z.infer<typeof followUpSchema>;

const findingViewSchema = z.object({
  id: z.string(),
  title: z.string(),
  kind: z.string(),
  confidencePercent: z.number().min(0).max(100),
  summary: z.string(),
  evidence: z.array(evidenceLineSchema),
  caveats: z.array(z.string()),
});

export const postmortemSchema = z.object({
  schemaVersion: z.literal(POSTMORTEM_SCHEMA_VERSION),
  incidentId: z.string(),
  title: z.string(),
  generatedAt: iso,
  target: z.string(),
  runbook: z.string(),
  mode: modeSchema,
  severity: severitySchema,
  status: z.object({
    value: incidentStatusSchema,
    label: z.string(),
    reason: z.string(),
    recovered: z.boolean(),
  }),
  summary: z.string(),
  failureClass: z.object({ id: failureClassIdSchema, title: z.string() }).nullable(),
  impact: z.object({
    start: iso,
    end: iso.nullable(),
    /** How the header names the end: "recovery verified", "not ended by the run", ... */
    endLabel: z.string(),
    durationMs: ms.nullable(),
    /** How `start` and `end` were chosen. */
    basis: z.string(),
    description: z.string(),
  }),
  detection: z.object({
    kind: z.enum(["alarm", "manual"]),
    at: iso,
    by: z.string(),
    alarmName: z.string().nullable(),
    alarmReason: z.string().nullable(),
    text: z.string(),
  }),
  keyTimes: z.array(keyTimeSchema),
  timeToDiagnoseMs: ms.nullable(),
  timeToMitigateMs: ms.nullable(),
  timeToRecoverMs: ms.nullable(),
  timeline: z.array(timelineEntrySchema),
  /** GitHub-renderable Mermaid gantt source (labels sanitised), without the code fence. */
  mermaid: z.string(),
  rootCause: findingViewSchema.nullable(),
  otherFindings: z.array(findingViewSchema),
  trigger: z.string(),
  contributing: z.array(
    z.object({ id: z.string(), summary: z.string(), evidence: z.array(evidenceLineSchema) }),
  ),
  ruledOut: z.array(
    z.object({ id: z.string(), hypothesis: z.string(), evidence: z.array(evidenceLineSchema) }),
  ),
  notEvaluated: z.array(z.object({ id: z.string(), reason: z.string() })),
  mitigation: z.object({
    planned: z.boolean(),
    guardrails: z.array(z.string()),
    steps: z.array(
      z.object({
        rung: z.number().int().nonnegative(),
        action: actionIdSchema,
        status: z.string(),
        destructive: z.boolean(),
        description: z.string(),
        reason: z.string(),
        at: iso.nullable(),
        healthyAfter: z.string(),
        highlight: z.boolean(),
      }),
    ),
  }),
  resolution: z.string(),
  verification: z
    .object({
      recovered: z.boolean(),
      attempts: z.number().int().nonnegative(),
      durationMs: ms,
      /** The moments compared: Before, After relief (when taken), After. */
      columns: z.array(z.string()),
      /** One value per column. */
      figures: z.array(z.object({ label: z.string(), values: z.array(z.string()) })),
    })
    .nullable(),
  /** The key evidence in one sentence with its figures (WebSocket leak: WsSession ≈ ESTABLISHED ≈ fds), or null. */
  proof: z.string().nullable(),
  charts: z.object({ fdUsage: chartSchema.nullable(), connectionStates: chartSchema.nullable() }),
  evidenceTables: z.array(tableSchema),
  followUps: z.array(followUpSchema),
  lessons: z.object({
    /** The class's lesson from the follow-up catalogue. */
    takeaway: z.string(),
    wentWell: z.array(z.string()),
    wentWrong: z.array(z.string()),
    lucky: z.array(z.string()),
  }),
  artifacts: z.array(z.object({ name: z.string(), uri: z.string(), sha256: z.string(), bytes: ms })),
  missing: z.array(z.object({ what: z.string(), why: z.string() })),
  escalation: z.object({ reason: z.string(), notified: z.array(z.string()) }).nullable(),
});
export type Postmortem = z.infer<typeof postmortemSchema>;
