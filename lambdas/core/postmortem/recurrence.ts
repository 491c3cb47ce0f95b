import { forecastRecurrenceFromRecord } from "../forecast/recurrence.js";
import type { IncidentRecord } from "../incident/schema.js";
import { formatCount, formatDateTime, formatDuration } from "./format.js";
import { classKnowledge, type PostmortemKnowledge } from "./knowledge-schema.js";
import type { ActionItem, Postmortem } from "./schema.js";

/**
 * When the limit is reached again after this recovery (lambdas/core/forecast/recurrence.ts), in the
 * postmortem's words and number formats. A relief that leaves a leak in place is temporary, and
 * points at the action item that fixes the cause: the class's first `prevent` item, else its first
 * `investigate` item (finding what holds the resource is the first step of the fix).
 */
export function recurrenceOf(
  record: IncidentRecord,
  items: readonly ActionItem[],
  knowledge: PostmortemKnowledge,
): Postmortem["recurrenceForecast"] {
  const f = forecastRecurrenceFromRecord(record, (id) => classKnowledge(knowledge, id).leak ?? null);
  const fix = f.temporary
    ? (items.find((i) => i.kind === "prevent") ?? items.find((i) => i.kind === "investigate") ?? null)
    : null;
  const g = f.figures;
  const basis = g
    ? `${formatCount(g.leaked)} fds leaked (${formatCount(g.openFdsBefore)} before, ${formatCount(g.openFdsAfter)} after the fix) over ${formatSpan(g.uptimeSecondsBefore / 3600)} of uptime; ${formatCount(g.headroom)} fds of headroom to the limit of ${formatCount(g.fdLimit)}.`
    : null;
  const line =
    f.status === "recurs" && f.ratePerHour !== null && f.hoursUntilLimit !== null
      ? `Leak rate: ${formatRate(f.ratePerHour)} fds/h; at this rate the limit is reached again around ${formatDateTime(f.limitReachedAgainAt)} (${formatSpan(f.hoursUntilLimit)} after recovery).`
      : null;
  const relief = f.reliefActions.map((a) => `\`${a}\``).join(" and ");
  const temporaryNote = f.temporary
    ? `${relief} relieved the symptom; the cause is still in place.` +
      (fix ? ` The fix is the action item “${fix.title}”.` : " No action item fixes the cause: add one.")
    : null;
  return {
    status: f.status,
    ratePerHour: f.ratePerHour,
    hoursUntilLimit: f.hoursUntilLimit,
    limitReachedAgainAt: f.limitReachedAgainAt,
    temporary: f.temporary,
    reliefActions: [...f.reliefActions],
    fixActionItem: fix?.id ?? null,
    line,
    basis,
    temporaryNote,
    reason: f.reason,
  };
}

/** "2.9" below 10 fds/h, "75,600" above. */
function formatRate(perHour: number): string {
  return perHour.toLocaleString("en-US", { maximumFractionDigits: perHour < 10 ? 1 : 0 });
}

/** "~14 days" from two days up, else "~47 s", "~5 h 12 min". */
function formatSpan(hours: number): string {
  return hours >= 48 ? `~${Math.round(hours / 24)} days` : `~${formatDuration(hours * 3_600_000)}`;
}
