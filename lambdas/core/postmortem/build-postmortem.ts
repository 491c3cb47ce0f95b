import type { IncidentRecord } from "../incident/schema.js";
import type { MetricMap } from "../rules/metrics.js";
import { actionItemsOf, diagnosticsOf, openQuestionsOf } from "./action-items.js";
import { chartsOf } from "./charts.js";
import { evidenceTablesOf } from "./evidence-tables.js";
import { type Facts, factsOf, metricsOf } from "./facts.js";
import { formatDateTime } from "./format.js";
import { impactOf, NOT_RECOVERED } from "./impact.js";
import { type ClassKnowledge, classKnowledge, type PostmortemKnowledge } from "./knowledge-schema.js";
import { lessonsOf, missingOf } from "./lessons.js";
import { mermaidGantt } from "./mermaid.js";
import {
  formatNumbersIn,
  milestonesOf,
  msBetween,
  outcomeSentenceOf,
  type Snapshot,
  STATUS_LABELS,
  snapshotsOf,
} from "./record-view.js";
import { recurrenceOf } from "./recurrence.js";
import { mitigationOf, resolutionOf, verificationOf } from "./resolution.js";
import { contributingOf, knownFixesOf, linked, rootCauseOf, ruledOutOf, shortReason } from "./root-cause.js";
import { POSTMORTEM_SCHEMA_VERSION, type Postmortem, postmortemSchema, TO_BE_FILLED } from "./schema.js";
import { deriveSeverity } from "./severity.js";
import { timelineOf } from "./timeline.js";

export { milestonesOf } from "./record-view.js";
export { deriveSeverity, SEVERITY_RULES } from "./severity.js";

export interface BuildPostmortemOptions {
  /** What the postmortem knows about each class (runbooks/postmortem/knowledge.yaml, loaded by the shell). */
  readonly knowledge: PostmortemKnowledge;
  /** When the postmortem was written; default: the record's end (so output is reproducible). */
  readonly generatedAt?: string;
  /** Owner put on every action item. @default "_to be filled_" */
  readonly owner?: string;
}

/** Why no mitigation was applied, per final status (the "Mitigation began" milestone). */
const NOT_MITIGATED: Record<IncidentRecord["status"], string> = {
  running: "not yet (record written mid-run)",
  recovered: "none needed",
  "not-down": "not needed: the service answered",
  planned: "not applied: plan mode",
  declined: "not applied: declined",
  cooldown: "not applied: target in cooldown",
  escalated: "none applied: escalated",
  braked: "none applied: the fleet brake stopped it (escalated)",
  failed: "none applied: the run failed",
  interrupted: "none applied: the run was interrupted",
};

function keyTimesOf(record: IncidentRecord, impact: Postmortem["impact"]): Postmortem["keyTimes"] {
  const { diagnosedAt, mitigatedAt, mitigationStart } = milestonesOf(record);
  const since = (at: string | null) => msBetween(impact.start, at);
  return [
    {
      id: "start",
      label: impact.startKnown ? "Impact start" : "Impact start (at or before)",
      at: impact.start,
      sinceStartMs: 0,
      absent: null,
    },
    {
      id: "diagnosis",
      label: "Diagnosed",
      at: diagnosedAt,
      sinceStartMs: since(diagnosedAt),
      absent: diagnosedAt ? null : "not diagnosed",
    },
    {
      id: "mitigation",
      label: !mitigationStart
        ? "Mitigation began"
        : mitigationStart.known
          ? "Mitigation began (first change on the host)"
          : "Mitigation began (no later than)",
      at: mitigatedAt,
      sinceStartMs: since(mitigatedAt),
      absent: mitigatedAt ? null : NOT_MITIGATED[record.status],
    },
    {
      id: "recovery",
      label: "Recovery verified",
      at: impact.end,
      sinceStartMs: since(impact.end),
      absent: impact.end
        ? null
        : record.status === "not-down"
          ? "not needed: the service answered"
          : "not recovered by the run",
    },
  ];
}

/** Where the "Mitigation began" time comes from, in one sentence (null: nothing changed the host). */
function mitigationStartText(record: IncidentRecord): Postmortem["mitigationStart"] {
  const m = milestonesOf(record).mitigationStart;
  return m ? { known: m.known, basis: `${m.basis}.` } : null;
}

/** The summary's outcome sentence is cut only past this length (a whole sentence reads better than "…"). */
const SUMMARY_OUTCOME_CHARS = 240;

function summaryOf(
  record: IncidentRecord,
  m: Pick<Postmortem, "severity" | "impact" | "rootCause">,
  k: ClassKnowledge,
): string {
  const impact = m.impact;
  // Without evidence the impact sentence gives the reason in brackets; the outcome sentence says it again.
  const described = !record.evidence.before
    ? `Impact unknown: no evidence was collected on ${record.target}.`
    : NOT_RECOVERED[record.status]
      ? impact.description.replace(NOT_RECOVERED[record.status], "")
      : impact.description;
  const window = `Impact ${impact.windowText}.`;
  const cause = m.rootCause
    ? `Root cause (${m.rootCause.confidencePercent}% confidence): ${k.title.charAt(0).toLowerCase()}${k.title.slice(1)}.`
    : "The root cause was not established: the run ended before diagnosing.";
  const end = shortReason(outcomeSentenceOf(record), SUMMARY_OUTCOME_CHARS);
  return `${m.severity.level}. ${described} ${window} ${cause} ${end}`.replace(/\s+/g, " ").trim();
}

function detectionOf(record: IncidentRecord): Postmortem["detection"] {
  const t = record.trigger;
  return {
    kind: t.kind,
    at: t.at,
    by: t.source,
    alarmName: t.alarmName,
    alarmReason: t.alarmReason,
    text:
      t.kind === "alarm"
        ? `CloudWatch alarm ${t.alarmName ?? "(unnamed)"} went to ALARM at ${formatDateTime(t.at)}${t.alarmReason ? ` (${t.alarmReason})` : ""}; the runbook started automatically in ${record.mode} mode (${t.source}).`
        : `Detected by a person: ${t.source} started the runbook by hand at ${formatDateTime(t.at)} in ${record.mode} mode.`,
  };
}

/** The record's end, so re-rendering the same record gives the same bytes. */
function generatedAtOf(record: IncidentRecord): string {
  const lastStepEnd = record.steps
    .flatMap((s) => (s.endedAt ? [s.endedAt] : []))
    .sort()
    .at(-1);
  return record.endedAt ?? lastStepEnd ?? record.startedAt;
}

/** Root cause, other findings, trigger, contributing factors, what was ruled out, known fixes, won't help. */
function analysisOf(
  record: IncidentRecord,
  knowledge: ClassKnowledge,
  facts: Facts,
  metrics: MetricMap,
  before: Snapshot,
) {
  const classId = record.diagnosis?.rootCause.id ?? null;
  const knownFixes = knownFixesOf(knowledge, before);
  return {
    rootCause: rootCauseOf(record, knowledge, facts, metrics, before),
    otherFindings: (record.diagnosis?.findings ?? [])
      .filter((f) => f.id !== classId)
      .map((f) => ({
        id: f.id,
        title: f.title,
        kind: f.kind,
        confidencePercent: Math.round(f.confidence * 100),
        summary: formatNumbersIn(f.summary),
        evidence: linked(f.evidence, before.link),
      })),
    trigger: classId
      ? knowledge.trigger
      : `${knowledge.trigger} (${shortReason(record.statusReason).replace(/\.$/, "")}).`,
    contributing: contributingOf(record, knowledge, facts, metrics),
    ruledOut: ruledOutOf(record.diagnosis, before, knownFixes !== null),
    notEvaluated: (record.diagnosis?.notEvaluated ?? []).map((n) => ({
      id: n.id,
      reason: shortReason(n.reason),
    })),
    knownFixes,
    wontHelp: knowledge.wontHelp,
  } satisfies Partial<Postmortem>;
}

export function buildPostmortem(record: IncidentRecord, opts: BuildPostmortemOptions): Postmortem {
  const classId = record.diagnosis?.rootCause.id ?? null;
  const knowledge = classKnowledge(opts.knowledge, classId);
  const facts = factsOf(record);
  const metrics = metricsOf(record);
  const snapshots = snapshotsOf(record);
  const [before] = snapshots;
  if (!before) throw new Error("snapshotsOf returned no 'before' snapshot");
  const severity = deriveSeverity(record);
  const impact = impactOf(record);
  const keyTimes = keyTimesOf(record, impact);
  const at = (id: string) => keyTimes.find((k) => k.id === id)?.sinceStartMs ?? null;
  const timeline = timelineOf(record, impact.end);
  const analysis = analysisOf(record, knowledge, facts, metrics, before);
  const { rootCause, knownFixes } = analysis;
  const items = actionItemsOf(
    record,
    opts.knowledge,
    knowledge,
    knownFixes,
    facts,
    metrics,
    opts.owner ?? TO_BE_FILLED,
  );
  const model: Postmortem = {
    schemaVersion: POSTMORTEM_SCHEMA_VERSION,
    incidentId: record.incidentId,
    title: `${knowledge.title} (${record.target})`,
    generatedAt: opts.generatedAt ?? generatedAtOf(record),
    target: record.target,
    runbook: record.runbook,
    mode: record.mode,
    metadata: {
      status: "Draft",
      authors: TO_BE_FILLED,
      reviewers: TO_BE_FILLED,
      reviewMeeting: TO_BE_FILLED,
    },
    severity,
    status: {
      value: record.status,
      label: STATUS_LABELS[record.status],
      reason: record.statusReason,
      recovered: record.status === "recovered",
    },
    summary: summaryOf(record, { severity, impact, rootCause }, knowledge),
    failureClass: classId ? { id: classId, title: knowledge.title } : null,
    impact,
    detection: detectionOf(record),
    keyTimes,
    timeToDiagnoseMs: at("diagnosis"),
    timeToMitigateMs: at("mitigation"),
    mitigationStart: mitigationStartText(record),
    timeToRecoverMs: at("recovery"),
    timeline,
    mermaid: mermaidGantt(`${record.incidentId} (UTC)`, timeline, impact),
    ...analysis,
    mitigation: mitigationOf(record),
    resolution: formatNumbersIn(resolutionOf(record, impact.durationMs)),
    verification: verificationOf(record, snapshots),
    charts: chartsOf(record, snapshots),
    evidenceTables: evidenceTablesOf(snapshots),
    actionItems: items.top,
    moreActionItems: items.more,
    leftOutActionItems: items.leftOut,
    diagnostics: diagnosticsOf(opts.knowledge, knowledge, facts, metrics),
    openQuestions: openQuestionsOf(knowledge, facts, metrics),
    lessons: lessonsOf(record, knowledge.lesson, at("diagnosis")),
    artifacts: record.artifacts.map((a) => ({
      name: a.name,
      link: a.name,
      sha256: a.sha256,
      bytes: a.bytes,
    })),
    missing: missingOf(record),
    escalation: record.escalation,
    recurrenceForecast: recurrenceOf(record, [...items.top, ...items.more], opts.knowledge),
  };
  return postmortemSchema.parse(model);
}
