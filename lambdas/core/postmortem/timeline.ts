import type { IncidentRecord } from "../incident/schema.js";
import { dataOf } from "../shared/section.js";
import { formatDuration } from "./format.js";
import { firstLogFailure, firstLogFailureTitle, processStartOf } from "./impact.js";
import { formatNumbersIn, milestonesOf, msBetween, STEP_TITLES } from "./record-view.js";
import type { TimelineEntry } from "./schema.js";

type Entry = Omit<TimelineEntry, "timeText">;

const point = (at: string, kind: Entry["kind"], title: string, status: string, detail: string): Entry => ({
  at,
  endedAt: null,
  durationMs: null,
  kind,
  title,
  status,
  detail,
  highlight: false,
});

/** Events before the run that the record can date: the process start and the first failure in the log. */
function beforeRun(record: IncidentRecord): Entry[] {
  const before = record.evidence.before;
  const out: Entry[] = [];
  const started = processStartOf(before);
  const pid = before ? dataOf(before.process)?.pid : undefined;
  if (started)
    out.push(
      point(
        started,
        "before",
        `Process ${pid ?? ""} started`.replace("  ", " "),
        "from uptime",
        "the JVM's start, from its uptime at the first collection",
      ),
    );
  const first = firstLogFailure(before);
  const logs = before ? dataOf(before.logs) : undefined;
  if (first && logs) {
    out.push({
      ...point(
        first.at,
        "before",
        firstLogFailureTitle(before),
        "log",
        `${logs.firstFailure?.stamp ?? ""} (line ${logs.firstFailure?.line ?? "?"} of the last ${logs.linesScanned} lines)`,
      ),
      highlight: true,
    });
  }
  return out;
}

function runEvents(record: IncidentRecord, recoveryAt: string | null): Entry[] {
  const t = record.trigger;
  const entries: Entry[] = [
    point(
      t.at,
      "alarm",
      t.kind === "alarm" ? `Alarm ${t.alarmName ?? "(unnamed)"} fired` : `Run started by ${t.source}`,
      t.kind === "alarm" ? "ALARM" : "manual",
      t.kind === "alarm" ? (t.alarmReason ?? t.source) : `mode ${record.mode}`,
    ),
  ];
  for (const s of record.steps) {
    // The actions are the apply step's rows: listing the step too would show the same work twice.
    if (s.id === "apply" && record.actions.length > 0) continue;
    entries.push({
      at: s.startedAt,
      endedAt: s.endedAt,
      durationMs: msBetween(s.startedAt, s.endedAt),
      kind: "step",
      title: STEP_TITLES[s.id],
      status: s.status,
      detail: s.error ? `${s.error.name}: ${s.error.message}` : (s.note ?? ""),
      highlight: s.status === "failed" || s.status === "interrupted",
    });
  }
  for (const a of record.actions) {
    entries.push({
      at: a.startedAt,
      endedAt: a.endedAt,
      durationMs: msBetween(a.startedAt, a.endedAt),
      kind: "action",
      title: `Rung ${a.rung + 1}: ${a.action}`,
      status: a.status,
      detail: formatNumbersIn(a.reason),
      highlight: a.status === "failed",
    });
  }
  const first = milestonesOf(record).mitigationStart;
  if (first)
    entries.push(
      point(
        first.at,
        "action",
        `First change on the host: ${first.what}`,
        first.known ? "sent" : "no later than",
        first.known ? "" : first.basis,
      ),
    );
  if (recoveryAt) {
    const v = record.verification;
    entries.push(
      point(
        recoveryAt,
        "recovery",
        "Health check passes: recovery verified",
        "ok",
        v ? `${v.attempts} attempt(s) over ${formatDuration(v.durationMs)}` : "",
      ),
    );
  }
  return entries;
}

const ORDER: Record<TimelineEntry["kind"], number> = { before: 0, alarm: 1, step: 2, action: 3, recovery: 4 };
const second = (iso: string) => new Date(iso).toISOString().slice(11, 19);

/** Every event, sorted; rows that share a second with another row show milliseconds. */
export function timelineOf(record: IncidentRecord, recoveryAt: string | null): TimelineEntry[] {
  const sorted = [...beforeRun(record), ...runEvents(record, recoveryAt)]
    .map((e, i) => ({ e, i }))
    .sort((x, y) => Date.parse(x.e.at) - Date.parse(y.e.at) || ORDER[x.e.kind] - ORDER[y.e.kind] || x.i - y.i)
    .map(({ e }) => e);
  const perSecond = new Map<string, number>();
  for (const e of sorted) perSecond.set(second(e.at), (perSecond.get(second(e.at)) ?? 0) + 1);
  return sorted.map((e) => ({
    ...e,
    timeText:
      (perSecond.get(second(e.at)) ?? 0) > 1 ? new Date(e.at).toISOString().slice(11, 23) : second(e.at),
  }));
}
