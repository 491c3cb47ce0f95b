import type { Evidence } from "../evidence/schema.js";
import { webSocketSessions } from "../evidence/sessions.js";
import type { IncidentRecord } from "../incident/schema.js";
import { formatValue } from "../rules/format.js";
import { deriveMetrics, type MetricMap, metricDef } from "../rules/metrics.js";
import { dataOf } from "../shared/section.js";
import { formatCount, formatDuration } from "./format.js";

/**
 * The facts `{placeholders}` in the class knowledge may use (runbooks/postmortem/knowledge.yaml), from the
 * record. A fact the record does not have is absent: `fill` then writes a sentence saying so.
 */
export type Facts = Readonly<Record<string, string>>;

const UNKNOWN: Readonly<Record<string, string>> = {
  port: "the service port",
  pid: "<pid>",
  openFds: "an unknown number",
  fdLimit: "unknown",
  tomcatVersion: "(version unknown)",
  topFiles: "none listed in the evidence",
  topPeers: "not recorded",
  retainingClass: "unknown (no class histogram was taken)",
  busyThreads: "An unknown number of",
  requestPool: "size unknown",
  established: "an unknown number of",
  idleThreshold: "the idle threshold",
};

function evidenceOf(record: IncidentRecord): Evidence[] {
  return [record.evidence.before, record.evidence.afterRelief, record.evidence.after].filter(
    (e): e is Evidence => e !== null,
  );
}

function firstData<T>(evs: readonly Evidence[], pick: (e: Evidence) => T | undefined): T | undefined {
  for (const e of evs) {
    const v = pick(e);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** The facts that are known, as display strings (numbers formatted). */
export function factsOf(record: IncidentRecord): Facts {
  const evs = evidenceOf(record);
  const before = record.evidence.before;
  const out: Record<string, string> = {};
  const set = (k: string, v: string | undefined | null) => {
    if (v !== undefined && v !== null && v !== "") out[k] = v;
  };
  const port = before?.input.port ?? evs[0]?.input.port;
  set("port", port === undefined ? undefined : String(port));
  set("pid", String(firstData(evs, (e) => dataOf(e.process)?.pid) ?? "") || undefined);
  const fds = before ? dataOf(before.fds) : undefined;
  set("openFds", fds ? formatCount(fds.open) : undefined);
  set("socketFds", fds ? formatCount(fds.byKind.socket) : undefined);
  set("fileFds", fds ? formatCount(fds.byKind.file) : undefined);
  set("fdLimit", fds ? (fds.limitSoft === null ? "unlimited" : formatCount(fds.limitSoft)) : undefined);
  set(
    "tomcatVersion",
    firstData(evs, (e) => dataOf(e.tomcat)?.version),
  );
  const files = firstData(evs, (e) => dataOf(e.fds)?.topFiles.slice(0, 3));
  set(
    "topFiles",
    files?.length ? files.map((f) => `\`${f.path}\` (${formatCount(f.count)})`).join(", ") : undefined,
  );
  const sockets = before ? dataOf(before.sockets) : undefined;
  set("established", sockets ? formatCount(sockets.established) : undefined);
  set("idleThreshold", sockets ? formatDuration(sockets.idle.thresholdMs) : undefined);
  const peers = sockets?.topPeers.slice(0, 3);
  set(
    "topPeers",
    peers?.length ? peers.map((p) => `${p.address} (${formatCount(p.count)})`).join(", ") : undefined,
  );
  // The class histogram: the first moment that has one (at the fd limit, after the relief batch).
  const withHisto = evs.find((e) => dataOf(e.classHistogram) !== undefined);
  const histo = withHisto ? dataOf(withHisto.classHistogram) : undefined;
  if (histo && withHisto) {
    set("wsSessions", formatCount(webSocketSessions(histo).instances));
    set(
      "establishedAtHistogram",
      String(formatCount(dataOf(withHisto.sockets)?.established ?? null)).replace("n/a", "") || undefined,
    );
    set(
      "histogramMoment",
      withHisto === before
        ? "at the start"
        : withHisto === record.evidence.afterRelief
          ? "after the relief batch"
          : "after the mitigation",
    );
    const retaining =
      histo.top.find((e) => !/^(\[|java\.lang\.(String|Object)$)/.test(e.className)) ?? histo.top[0];
    set(
      "retainingClass",
      retaining ? `\`${retaining.className}\` (${formatCount(retaining.instances)} instances)` : undefined,
    );
  }
  const threads = firstData(evs, (e) => dataOf(e.threads));
  set(
    "busyThreads",
    threads
      ? `${formatCount(threads.requestExecutor.busy)} of ${formatCount(threads.requestExecutor.total)}`
      : undefined,
  );
  set("requestPool", threads ? `${formatCount(threads.requestExecutor.total)} threads` : undefined);
  return out;
}

/** The derived metrics of the first snapshot (the diagnosis's), or none. */
export function metricsOf(record: IncidentRecord): MetricMap {
  return record.evidence.before ? deriveMetrics(record.evidence.before) : {};
}

const PLACEHOLDER = /\{([A-Za-z][A-Za-z0-9.]*)\}/g;

/** A metric for prose: counts with thousands separators, ratios as percentages. */
function metricText(name: string, metrics: MetricMap): string | null {
  const v = metrics[name];
  if (v === null || v === undefined) return null;
  return typeof v === "number" && metricDef(name)?.format === "count" ? formatCount(v) : formatValue(name, v);
}

/**
 * Fills `{fact}` and `{metric}` placeholders. `complete` is false when one had no value; the text then says
 * so with the fact's fallback ("unknown ..."), so no `{...}` ever survives.
 */
export function fill(
  template: string,
  facts: Facts,
  metrics: MetricMap,
): { text: string; complete: boolean } {
  let complete = true;
  const text = template.replace(PLACEHOLDER, (_whole, name: string) => {
    if (Object.hasOwn(facts, name)) return facts[name] ?? "";
    const m = Object.hasOwn(metrics, name) ? metricText(name, metrics) : null;
    if (m !== null) return m;
    complete = false;
    return UNKNOWN[name] ?? "(unknown)";
  });
  return { text, complete };
}
