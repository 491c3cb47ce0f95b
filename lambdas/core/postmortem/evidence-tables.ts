import type { Evidence } from "../evidence/schema.js";
import { shortClassName, webSocketSessions } from "../evidence/sessions.js";
import { dataOf } from "../shared/section.js";
import { formatCount, formatDuration, formatPercent, formatTime } from "./format.js";
import type { Snapshot } from "./record-view.js";
import { shortReason } from "./root-cause.js";
import type { Table } from "./schema.js";
import { STATE_COLOURS } from "./svg.js";

/** Classes the postmortem highlights in histogram tables. */
export const HIGHLIGHT_CLASS_PATTERN = /WsSession|WebSocketSession|UpgradeProcessorInternal/;

function firstUnavailable(
  snapshots: readonly Snapshot[],
  pick: (e: Evidence) => { status: string; reason?: string },
) {
  const reasons = snapshots.flatMap((s) => {
    if (!s.evidence) return [];
    const sec = pick(s.evidence) as { status: string; reason?: string };
    return sec.status === "unavailable" ? [`${s.label}: ${shortReason(sec.reason ?? "unavailable")}`] : [];
  });
  return reasons.length ? reasons.join("; ") : "no evidence was collected";
}

function table(
  id: string,
  title: string,
  columns: string[],
  rows: Table["rows"],
  note: string | null,
  unavailable: () => string,
): Table {
  return { id, title, note, columns, rows, unavailable: rows.length === 0 ? unavailable() : null };
}

function stateOrder(states: Iterable<string>): string[] {
  const known = STATE_COLOURS.map((s) => s.state);
  return [...new Set(states)].sort((a, b) => {
    const ia = known.indexOf(a) === -1 ? known.length : known.indexOf(a);
    const ib = known.indexOf(b) === -1 ? known.length : known.indexOf(b);
    return ia - ib || a.localeCompare(b);
  });
}

type WithEvidence = Snapshot & { evidence: Evidence };

function fdTable(withEv: readonly WithEvidence[], snapshots: readonly Snapshot[]): Table[] {
  const tables: Table[] = [];
  // Open file descriptors vs limit
  const fdRows = withEv.flatMap((s) => {
    const f = dataOf(s.evidence.fds);
    if (!f) return [];
    const frac = f.limitSoft ? f.open / f.limitSoft : null;
    return [
      {
        cells: [
          s.label,
          formatTime(s.evidence.collectedAt),
          formatCount(f.open),
          f.limitSoft === null ? "unlimited" : formatCount(f.limitSoft),
          formatPercent(frac),
          formatCount(f.byKind.socket),
          formatCount(f.byKind.file),
          formatCount(f.byKind.pipe + f.byKind.anonInode + f.byKind.other),
        ],
        highlight: frac !== null && frac >= 0.9,
      },
    ];
  });
  tables.push(
    table(
      "fds",
      "Open file descriptors vs limit",
      ["Snapshot", "At (UTC)", "Open", "Soft limit", "Used", "Sockets", "Files", "Other"],
      fdRows,
      null,
      () => firstUnavailable(snapshots, (e) => e.fds),
    ),
  );

  return tables;
}

function socketsTable(withEv: readonly WithEvidence[], snapshots: readonly Snapshot[]): Table[] {
  const tables: Table[] = [];
  // Sockets by state on the port
  const sockets = withEv.flatMap((s) => {
    const d = dataOf(s.evidence.sockets);
    return d ? [{ label: s.label, d }] : [];
  });
  const states = stateOrder(sockets.flatMap((s) => Object.keys(s.d.byState)));
  tables.push(
    table(
      "sockets",
      sockets[0] ? `Connections on port ${sockets[0].d.port} by state` : "Connections on the port by state",
      ["Snapshot", ...states, "Total", "Send-Q > 0"],
      sockets.map((s) => ({
        cells: [
          s.label,
          ...states.map((st) => formatCount(s.d.byState[st] ?? 0)),
          formatCount(s.d.total),
          formatCount(s.d.sendQueueNonEmpty),
        ],
        highlight: false,
      })),
      "LISTEN excluded.",
      () => firstUnavailable(snapshots, (e) => e.sockets),
    ),
  );

  return tables;
}

function idleTable(withEv: readonly WithEvidence[], snapshots: readonly Snapshot[]): Table[] {
  const tables: Table[] = [];
  // Idle-time histogram of ESTABLISHED sockets
  const sockets = withEv.flatMap((s) => {
    const d = dataOf(s.evidence.sockets);
    return d ? [{ label: s.label, d }] : [];
  });
  const labels = [...new Set(sockets.flatMap((s) => s.d.idle.histogram.map((b) => b.label)))];
  const first = sockets[0];
  tables.push(
    table(
      "idle",
      "Idle time of ESTABLISHED connections (since last byte received)",
      ["Idle for", ...sockets.map((s) => s.label)],
      labels.map((label) => {
        const counts = sockets.map((s) => s.d.idle.histogram.find((b) => b.label === label)?.count ?? 0);
        const bucket = first?.d.idle.histogram.find((b) => b.label === label);
        const overThreshold =
          bucket !== undefined && first !== undefined && bucket.minMs >= first.d.idle.thresholdMs;
        return {
          cells: [label, ...counts.map((c) => formatCount(c))],
          highlight: overThreshold && (counts[0] ?? 0) > 0,
        };
      }),
      first
        ? sockets
            .map(
              (s) =>
                `${s.label}: ${formatCount(s.d.idle.overThreshold)} idle longer than ${formatDuration(s.d.idle.thresholdMs)}` +
                (s.d.idle.maxIdleMs === null ? "" : `, longest ${formatDuration(s.d.idle.maxIdleMs)}`),
            )
            .join("; ")
        : null,
      () => firstUnavailable(snapshots, (e) => e.sockets),
    ),
  );

  return tables;
}

function classesTable(withEv: readonly WithEvidence[], snapshots: readonly Snapshot[]): Table[] {
  const tables: Table[] = [];
  // Top JVM classes: the best histogram available: before, else after relief (at the fd limit the JVM
  // cannot be attached before), else after; the table says which moment it was taken at.
  const withHisto = withEv.find((s) => dataOf(s.evidence.classHistogram) !== undefined);
  const histo = withHisto ? dataOf(withHisto.evidence.classHistogram) : undefined;
  const histoRows: Table["rows"] = [];
  let histoNote: string | null = null;
  if (histo && withHisto) {
    // The watched classes (the leak's own), then the five largest classes outside the JDK: JDK internals
    // (byte arrays, strings, maps) are in every heap and say nothing here.
    for (const w of histo.watched) {
      histoRows.push({
        cells: ["watched", w.className, formatCount(w.instances), formatCount(w.bytes)],
        highlight:
          (HIGHLIGHT_CLASS_PATTERN.test(w.className) || (histo.sessionClasses ?? []).includes(w.className)) &&
          w.instances > 0,
      });
    }
    const watched = new Set(histo.watched.map((w) => w.className));
    const jdk = /^(\[|java\.|javax\.|jdk\.|sun\.|com\.sun\.)/;
    for (const e of histo.top
      .filter((x) => !jdk.test(x.className) && !watched.has(x.className))
      .slice(0, 5)) {
      histoRows.push({
        cells: [String(e.rank), e.className, formatCount(e.instances), formatCount(e.bytes)],
        highlight:
          HIGHLIGHT_CLASS_PATTERN.test(e.className) || (histo.sessionClasses ?? []).includes(e.className),
      });
    }
    const earlier = withEv
      .slice(0, withEv.indexOf(withHisto))
      .flatMap((s) =>
        s.evidence.classHistogram.status === "unavailable"
          ? [`${s.label}: ${shortReason(s.evidence.classHistogram.reason)}`]
          : [],
      );
    const ws = webSocketSessions(histo);
    const estab = dataOf(withHisto.evidence.sockets)?.established;
    const side =
      estab !== undefined
        ? ` At that moment: ${formatCount(ws.instances)} ${shortClassName(ws.className ?? "WsSession")} instances, ${formatCount(estab)} ESTABLISHED connections on the port.`
        : "";
    histoNote =
      `Taken ${withHisto.label} at ${formatTime(withHisto.evidence.collectedAt)} UTC with \`${histo.command}\`` +
      `${histo.forcedFullGc ? " (forces a full GC)" : ""}; ${formatCount(histo.totalInstances)} instances in total.` +
      side +
      (earlier.length ? ` Not available earlier: ${earlier.join("; ")}.` : "");
  }
  tables.push(
    table(
      "classes",
      withHisto
        ? `Top JVM classes by instances (${withHisto.label}, ${formatTime(withHisto.evidence.collectedAt)} UTC)`
        : "Top JVM classes by instances",
      ["Rank", "Class", "Instances", "Bytes"],
      histoRows,
      histoNote,
      () => firstUnavailable(snapshots, (e) => e.classHistogram),
    ),
  );

  return tables;
}

function threadsTable(withEv: readonly WithEvidence[], snapshots: readonly Snapshot[]): Table[] {
  const tables: Table[] = [];
  // Thread states
  const threads = withEv.flatMap((s) => {
    const d = dataOf(s.evidence.threads);
    return d ? [{ label: s.label, d }] : [];
  });
  const threadStates = [...new Set(threads.flatMap((t) => Object.keys(t.d.byState)))].sort();
  tables.push(
    table(
      "threads",
      "Thread states",
      [
        "Snapshot",
        "Total",
        ...threadStates,
        "Request pool busy / total",
        "In DB calls",
        "Blocked on monitor",
      ],
      threads.map((t) => ({
        cells: [
          t.label,
          formatCount(t.d.total),
          ...threadStates.map((st) => formatCount(t.d.byState[st] ?? 0)),
          `${formatCount(t.d.requestExecutor.busy)} / ${formatCount(t.d.requestExecutor.total)}`,
          formatCount(t.d.inDatabaseCalls),
          formatCount(t.d.blockedOnMonitor),
        ],
        highlight: t.d.requestExecutor.total > 0 && t.d.requestExecutor.busy >= t.d.requestExecutor.total,
      })),
      threads[0]?.d.requestExecutor.namePrefix
        ? `Request pool: \`${threads[0].d.requestExecutor.namePrefix}*\`.`
        : null,
      () => firstUnavailable(snapshots, (e) => e.threads),
    ),
  );

  return tables;
}

function heapTable(withEv: readonly WithEvidence[], snapshots: readonly Snapshot[]): Table[] {
  const tables: Table[] = [];
  // Heap
  const heaps = withEv.flatMap((s) => {
    const d = dataOf(s.evidence.heap);
    return d ? [{ label: s.label, d }] : [];
  });
  tables.push(
    table(
      "heap",
      "Heap (jstat -gcutil)",
      ["Snapshot", "Old gen", "Eden", "Metaspace", "Full GCs", "Full GC time", "Full GCs during sample"],
      heaps.map((h) => ({
        cells: [
          h.label,
          `${h.d.oldGenPercent.toFixed(1)}%`,
          `${h.d.edenPercent.toFixed(1)}%`,
          h.d.metaspacePercent === null ? "n/a" : `${h.d.metaspacePercent.toFixed(1)}%`,
          formatCount(h.d.fullGcCount),
          `${h.d.fullGcTimeSeconds.toFixed(1)} s`,
          `${formatCount(h.d.fullGcDuringSample)} in ${formatDuration(h.d.sampleIntervalMs)}`,
        ],
        highlight: h.d.oldGenPercent >= 95,
      })),
      null,
      () => firstUnavailable(snapshots, (e) => e.heap),
    ),
  );

  return tables;
}

function topFilesTable(withEv: readonly WithEvidence[], _snapshots: readonly Snapshot[]): Table[] {
  const tables: Table[] = [];
  // Most-held files (only when some snapshot lists any)
  const files = withEv.flatMap((s) => {
    const d = dataOf(s.evidence.fds);
    return d && d.topFiles.length > 0 ? [{ label: s.label, d }] : [];
  });
  if (files.length > 0 && files[0]) {
    tables.push(
      table(
        "top-files",
        `Most-held files (${files[0].label})`,
        ["Path", "Open descriptors"],
        files[0].d.topFiles.map((f) => ({ cells: [f.path, formatCount(f.count)], highlight: false })),
        null,
        () => "none",
      ),
    );
  }

  return tables;
}

function logsTable(withEv: readonly WithEvidence[], snapshots: readonly Snapshot[]): Table[] {
  const tables: Table[] = [];
  // Log matches
  const logRows = withEv.flatMap((s) => {
    const d = dataOf(s.evidence.logs);
    if (!d) return [];
    return [
      {
        cells: [
          s.label,
          formatCount(d.linesScanned),
          formatCount(d.tooManyOpenFiles),
          formatCount(d.outOfMemoryError),
          d.samples[0] ?? "",
        ],
        highlight: d.tooManyOpenFiles > 0 || d.outOfMemoryError > 0,
      },
    ];
  });
  // Which log was read and why, when the probe says (a discovered log: docs/rules.md, "Evidence first").
  const read = withEv.map((s) => dataOf(s.evidence.logs)).find((d) => d?.source !== undefined);
  const readNote = read ? `Log read: ${read.path} (${read.why ?? read.source}).` : null;
  tables.push(
    table(
      "logs",
      "Log matches",
      ["Snapshot", "Lines scanned", "Too many open files", "OutOfMemoryError", "First sample"],
      logRows,
      readNote,
      () => firstUnavailable(snapshots, (e) => e.logs),
    ),
  );
  return tables;
}

export function evidenceTablesOf(snapshots: readonly Snapshot[]): Table[] {
  const withEv = snapshots.filter((s): s is WithEvidence => s.evidence !== null);
  return [
    fdTable,
    socketsTable,
    idleTable,
    classesTable,
    threadsTable,
    heapTable,
    topFilesTable,
    logsTable,
  ].flatMap((f) => f(withEv, snapshots));
}
