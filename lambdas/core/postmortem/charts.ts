import type { IncidentRecord } from "../incident/schema.js";
import { dataOf } from "../shared/section.js";
import { formatCount, formatDuration, formatPercent, formatTime } from "./format.js";
import type { Snapshot } from "./record-view.js";
import type { Charts } from "./schema.js";

/** Charts as data, one row per snapshot with its time; svg.ts draws them when the postmortem is rendered. */

const num = (v: unknown): number => (typeof v === "string" || typeof v === "number" ? Number(v) || 0 : 0);

/** Why "after relief" can look like "before": the relief batch is small and the accept queue refills it. */
function unchangedNote(record: IncidentRecord, same: readonly string[], what: string): string | null {
  if (same.length === 0) return null;
  const relief = record.actions.find((a) => a.details.relief !== undefined)?.details.relief as
    | Record<string, unknown>
    | undefined;
  const queue = record.evidence.before
    ? dataOf(record.evidence.before.listener)?.acceptQueue?.current
    : undefined;
  const why =
    relief && num(relief.killed) > 0
      ? ` The relief batch closed only ${formatCount(num(relief.killed))} connections, to free descriptors for the class histogram` +
        (queue
          ? `, and the ${formatCount(queue)} connections waiting in the accept queue could take their place.`
          : ".")
      : "";
  return `${same.join(", ")}: the same ${what} as the row above.${why}`;
}

function fdUsage(record: IncidentRecord, snapshots: readonly Snapshot[]): Charts["fdUsage"] {
  const rows = snapshots.flatMap((s) => {
    const fds = s.evidence ? dataOf(s.evidence.fds) : undefined;
    const at = s.evidence?.collectedAt ?? s.figures?.at;
    if (!at) return [];
    if (fds) return [{ label: s.label, at, open: fds.open, limit: fds.limitSoft }];
    if (s.figures?.openFds != null)
      return [{ label: s.label, at, open: s.figures.openFds, limit: s.figures.fdLimit }];
    return [];
  });
  if (rows.length === 0) return null;
  const same = rows
    .slice(1)
    .filter((r, i) => r.open === rows[i]?.open)
    .map((r) => r.label);
  return {
    id: "fd-usage",
    title: "Open file descriptors vs limit",
    fileName: "postmortem-fd-usage.svg",
    alt: `Open fds vs limit: ${rows
      .map(
        (r) =>
          `${r.label} (${formatTime(r.at)}) ${formatCount(r.open)}` +
          (r.limit === null
            ? " (no limit)"
            : ` of ${formatCount(r.limit)} (${formatPercent(r.open / Math.max(1, r.limit))})`),
      )
      .join(", ")}`,
    note: unchangedNote(record, same, "open fds"),
    rows,
  };
}

function connectionStates(
  record: IncidentRecord,
  snapshots: readonly Snapshot[],
): Charts["connectionStates"] {
  const rows = snapshots.flatMap((s) => {
    const sockets = s.evidence ? dataOf(s.evidence.sockets) : undefined;
    const at = s.evidence?.collectedAt ?? s.figures?.at;
    if (!at) return [];
    if (sockets) return [{ label: s.label, at, byState: sockets.byState }];
    if (s.figures?.established != null)
      return [{ label: s.label, at, byState: { ESTAB: s.figures.established } }];
    return [];
  });
  if (rows.length === 0) return null;
  const total = (b: Readonly<Record<string, number>>) => Object.values(b).reduce((x, y) => x + y, 0);
  const same = rows
    .slice(1)
    .filter((r, i) => total(r.byState) === total(rows[i]?.byState ?? {}))
    .map((r) => r.label);
  return {
    id: "connection-states",
    title: "Connections on the port by state",
    fileName: "postmortem-connection-states.svg",
    alt: `Connections by state: ${rows
      .map(
        (r) =>
          `${r.label} (${formatTime(r.at)}) ${formatCount(total(r.byState))} (${formatCount(r.byState.ESTAB ?? 0)} ESTAB)`,
      )
      .join(", ")}`,
    note: unchangedNote(record, same, "number of connections"),
    rows,
  };
}

/** ESTABLISHED connections by how long they had been idle: a pile that grew over time shows old buckets. */
function idleAge(snapshots: readonly Snapshot[]): Charts["idleAge"] {
  const rows = snapshots.flatMap((s) => {
    const sockets = s.evidence ? dataOf(s.evidence.sockets) : undefined;
    if (!s.evidence || !sockets || sockets.idle.histogram.length === 0) return [];
    return [
      {
        label: s.label,
        at: s.evidence.collectedAt,
        buckets: sockets.idle.histogram.map((b) => ({ label: b.label, minMs: b.minMs, count: b.count })),
      },
    ];
  });
  if (rows.length === 0 || rows.every((r) => r.buckets.every((b) => b.count === 0))) return null;
  const first = snapshots.map((s) => (s.evidence ? dataOf(s.evidence.sockets) : undefined)).find((x) => x);
  const threshold = first?.idle.thresholdMs ?? null;
  return {
    id: "idle-age",
    title: "ESTABLISHED connections by idle time",
    fileName: "postmortem-idle-age.svg",
    alt: `ESTABLISHED connections by idle time: ${rows
      .map(
        (r) =>
          `${r.label} (${formatTime(r.at)}) ${
            r.buckets
              .filter((b) => b.count > 0)
              .map((b) => `${b.label}: ${formatCount(b.count)}`)
              .join(", ") || "none"
          }`,
      )
      .join("; ")}`,
    note:
      threshold === null
        ? null
        : `Idle = no byte received. Connections idle longer than ${formatDuration(threshold)} (the idle threshold) are the pile; the oldest bucket shows how long it has been growing.`,
    thresholdMs: threshold,
    rows,
  };
}

export function chartsOf(record: IncidentRecord, snapshots: readonly Snapshot[]): Charts {
  return {
    fdUsage: fdUsage(record, snapshots),
    connectionStates: connectionStates(record, snapshots),
    idleAge: idleAge(snapshots),
  };
}
