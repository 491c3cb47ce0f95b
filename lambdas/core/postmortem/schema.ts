import { z } from "zod";
import { failureClassIdSchema } from "../diagnosis/schema.js";
import { actionIdSchema, incidentStatusSchema, modeSchema } from "../incident/schema.js";

/**
 * The postmortem model: everything a postmortem says, computed from the execution record alone.
 * Templates only format it (Handlebars, strict mode), so every field is present: absence is `null`
 * or an empty array, never a missing key. Times are ISO strings, durations are milliseconds.
 */
export const POSTMORTEM_SCHEMA_VERSION = 2 as const;

/** What a human fills in: shown as an italic placeholder. */
export const TO_BE_FILLED = "_to be filled_";

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

/** A chart is data (one row per snapshot, with its time); the SVG is drawn at render time (svg.ts). */
const chartBase = {
  id: z.string(),
  title: z.string(),
  /** Markdown references the chart as a sibling file of this name; HTML inlines the SVG. */
  fileName: z.string(),
  /** The figures in words: the Markdown alt text. */
  alt: z.string(),
  /** Why two rows look alike, when they do ("the relief batch freed 32 sockets: below 1%"), else null. */
  note: z.string().nullable(),
};
const rowBase = { label: z.string(), at: iso };
export const chartsSchema = z.object({
  fdUsage: z
    .object({
      ...chartBase,
      rows: z.array(z.object({ ...rowBase, open: z.number(), limit: z.number().nullable() })),
    })
    .nullable(),
  connectionStates: z
    .object({
      ...chartBase,
      rows: z.array(z.object({ ...rowBase, byState: z.record(z.string(), z.number()) })),
    })
    .nullable(),
  /** ESTABLISHED connections by idle age: how long the pile has been accumulating. */
  idleAge: z
    .object({
      ...chartBase,
      thresholdMs: z.number().nullable(),
      rows: z.array(
        z.object({
          ...rowBase,
          buckets: z.array(z.object({ label: z.string(), minMs: z.number(), count: z.number() })),
        }),
      ),
    })
    .nullable(),
});
export type Charts = z.infer<typeof chartsSchema>;

export const timelineEntrySchema = z.object({
  at: iso,
  endedAt: iso.nullable(),
  durationMs: ms.nullable(),
  kind: z.enum(["before", "alarm", "step", "action", "recovery"]),
  title: z.string(),
  status: z.string(),
  detail: z.string(),
  /** Failed or otherwise notable entries. */
  highlight: z.boolean(),
  /** `HH:MM:SS.mmm` when this row's order depends on sub-second times, else `HH:MM:SS`. */
  timeText: z.string(),
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

/** A figure with a relative link to the raw evidence it comes from (null: nothing saved to link to). */
export const linkedLineSchema = z.object({ text: z.string(), link: z.string().nullable() });

export const actionItemSchema = z.object({
  id: z.string(),
  title: z.string(),
  priority: z.enum(["P1", "P2", "P3"]),
  kind: z.enum(["prevent", "mitigate", "detect", "investigate"]),
  /** The first item: what to do first. */
  doFirst: z.boolean(),
  /** Concrete text, the record's facts filled in (Markdown with inline code). */
  text: z.string(),
  snippet: z.object({ language: z.string(), code: z.string() }).nullable(),
  doneWhen: z.object({ command: z.string(), expect: z.string() }),
  /** Why the evidence calls for it (its gate, knowledge.yaml); null: offered for every run of its class. */
  because: z.string().nullable(),
  owner: z.string(),
  due: z.string(),
  ticket: z.string(),
});
export type ActionItem = z.infer<typeof actionItemSchema>;

const findingViewSchema = z.object({
  id: z.string(),
  title: z.string(),
  kind: z.string(),
  confidencePercent: z.number().min(0).max(100),
  summary: z.string(),
  evidence: z.array(linkedLineSchema),
});

export const postmortemSchema = z.object({
  schemaVersion: z.literal(POSTMORTEM_SCHEMA_VERSION),
  incidentId: z.string(),
  /** Claims only what the evidence shows (the class knowledge's title), with the target. */
  title: z.string(),
  generatedAt: iso,
  target: z.string(),
  runbook: z.string(),
  mode: modeSchema,
  /** For the humans who review it: status Draft until reviewed; the rest are placeholders. */
  metadata: z.object({
    status: z.string(),
    authors: z.string(),
    reviewers: z.string(),
    reviewMeeting: z.string(),
  }),
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
    /** True when `start` is a failure seen in the evidence; false: the impact began no later than `start`, maybe earlier. */
    startKnown: z.boolean(),
    /** Where `start` comes from, in words. */
    startBasis: z.string(),
    end: iso.nullable(),
    /** How the header names the end: "recovery verified", "not ended by the run", ... */
    endLabel: z.string(),
    durationMs: ms.nullable(),
    /** "34 s", or "at least 12 s" when the start is only a bound. */
    durationText: z.string(),
    /** The window in words: "from ... to ... (34 s)", "began at or before ...; not ended by the run", "none found ...". */
    windowText: z.string(),
    description: z.string(),
    /** What was affected: connector, endpoints, queued connections. */
    scope: z.array(z.string()),
    /** What the mitigation itself did to users (clients disconnected, a restart's downtime), or null. */
    mitigationImpact: z.string().nullable(),
    /** For humans: users affected, support tickets, ... (value `TO_BE_FILLED`). */
    humanFields: z.array(z.object({ label: z.string(), value: z.string() })),
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
  /** Impact start to the first change on the host (an upper bound when `mitigationStart.known` is false). */
  timeToMitigateMs: ms.nullable(),
  /** How the mitigation's start is known: exact (`firstChangeAt`) or "no later than", and from what. */
  mitigationStart: z.object({ known: z.boolean(), basis: z.string() }).nullable(),
  timeToRecoverMs: ms.nullable(),
  timeline: z.array(timelineEntrySchema),
  /** GitHub-renderable Mermaid gantt source (labels sanitised), without the code fence. */
  mermaid: z.string(),
  rootCause: z
    .object({
      id: z.string(),
      title: z.string(),
      /** The final confidence: the re-diagnosis after relief when there was one. */
      confidencePercent: z.number().min(0).max(100),
      /** "first diagnosed at 70% from socket evidence alone", or null when it did not change. */
      confidenceNote: z.string().nullable(),
      /** The proof in one sentence with its figures (WsSession ≈ ESTABLISHED ≈ fds), or null. */
      proof: z.string().nullable(),
      summary: z.string(),
      /** The cited figures that were available, each linked to its raw evidence. */
      evidence: z.array(linkedLineSchema),
      /** One caveat: the evidence that was unavailable and what that means, or null. */
      caveat: z.string().nullable(),
    })
    .nullable(),
  otherFindings: z.array(findingViewSchema),
  trigger: z.string(),
  /** Factors that made it possible or worse: from the evidence, the diagnosis and the detection. */
  contributing: z.array(z.object({ id: z.string(), text: z.string() })),
  ruledOut: z.array(
    z.object({
      id: z.string(),
      hypothesis: z.string(),
      scope: z.string(),
      evidence: z.array(linkedLineSchema),
    }),
  ),
  notEvaluated: z.array(z.object({ id: z.string(), reason: z.string() })),
  /** The class's known framework fixes against the recorded version, or null. */
  knownFixes: z
    .object({
      product: z.string(),
      version: z.string().nullable(),
      rows: z.array(
        z.object({
          id: z.string(),
          url: z.string(),
          title: z.string(),
          fixedIn: z.string(),
          status: z.string(),
        }),
      ),
    })
    .nullable(),
  wontHelp: z.array(z.object({ what: z.string(), why: z.string() })),
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
  charts: chartsSchema,
  evidenceTables: z.array(tableSchema),
  /** The top three, "do first" first: the main document shows these. */
  actionItems: z.array(actionItemSchema),
  /** The rest, in the appendix. */
  moreActionItems: z.array(actionItemSchema),
  /** The class's items the evidence left out (their gate does not hold: they would change nothing here). */
  leftOutActionItems: z.array(z.object({ id: z.string(), title: z.string(), why: z.string() })),
  /** Class-specific diagnostics a human runs (heap dump, session states ...). */
  diagnostics: z.array(
    z.object({
      title: z.string(),
      text: z.string(),
      snippet: z.object({ language: z.string(), code: z.string() }).nullable(),
    }),
  ),
  openQuestions: z.array(z.string()),
  lessons: z.object({
    takeaway: z.string(),
    wentWell: z.array(z.string()),
    wentWrong: z.array(z.string()),
    lucky: z.array(z.string()),
  }),
  /** Raw evidence: `link` is relative to the postmortem (it sits in the incident folder). */
  artifacts: z.array(z.object({ name: z.string(), link: z.string(), sha256: z.string(), bytes: ms })),
  missing: z.array(z.object({ what: z.string(), why: z.string() })),
  escalation: z.object({ reason: z.string(), notified: z.array(z.string()) }).nullable(),
  /** When a leak reaches the limit again after this recovery (forecast/recurrence.ts), and whether the fix was temporary. */
  recurrenceForecast: z.object({
    status: z.enum(["recurs", "not-a-leak", "unknown"]),
    /** Leaked fds per hour over the process's life before the incident. */
    ratePerHour: z.number().nullable(),
    hoursUntilLimit: z.number().nullable(),
    limitReachedAgainAt: iso.nullable(),
    /** A relief action was applied to a leak class: the cause is still in place. */
    temporary: z.boolean(),
    /** Ids of the applied actions that only relieve the symptom. */
    reliefActions: z.array(z.string()),
    /** Id of the action item that fixes the cause, when `temporary`. */
    fixActionItem: z.string().nullable(),
    /** The resolution's line: "Leak rate: ... reached again around ... (~14 days after recovery).", or null. */
    line: z.string().nullable(),
    /** How the figures were computed, formatted, or null. */
    basis: z.string().nullable(),
    /** The "temporary" label's sentence, or null. */
    temporaryNote: z.string().nullable(),
    /** Why there is no forecast (status not "recurs"), else null. */
    reason: z.string().nullable(),
  }),
});
export type Postmortem = z.infer<typeof postmortemSchema>;
