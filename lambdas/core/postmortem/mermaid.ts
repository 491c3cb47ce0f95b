import type { TimelineEntry } from "./schema.js";

/**
 * Mermaid gantt source for GitHub. A gantt (not `timeline`) because it keeps the time axis, so
 * durations are visible. Labels are sanitised: Mermaid's gantt parser splits on `:` and treats
 * `#` and `;` as comments/statement ends, so those and other markup characters are removed.
 */
export function sanitiseMermaidLabel(text: string, max = 60): string {
  const cleaned = text
    .replace(/[\r\n\t]+/g, " ")
    .replace(/[:;#]/g, " ")
    .replace(/["'`<>{}[\]()%\\|&]/g, "")
    .replace(/\s+/g, " ")
    .trim();
  const cut = cleaned.length > max ? `${cleaned.slice(0, max - 1).trimEnd()}…` : cleaned;
  return cut === "" ? "event" : cut;
}

/** "2025-03-11T02:14:05.123Z" -> "2025-03-11 02:14:05.123" (UTC wall clock, matching `dateFormat`). */
function mermaidTime(iso: string): string {
  return new Date(iso).toISOString().slice(0, 23).replace("T", " ");
}

const SECTION: Record<TimelineEntry["kind"], string> = {
  before: "Before the run",
  alarm: "Detection",
  step: "Runbook steps",
  action: "Mitigation",
  recovery: "Recovery",
};

/** Events further back than this before the impact (a process start days ago) would flatten the axis. */
const MAX_LEAD_MS = 10 * 60_000;

/**
 * Start and end dates (not durations) with milliseconds, an axis in seconds, and an Impact bar from the
 * impact's start to its end (or the last event when it did not end).
 */
export function mermaidGantt(
  title: string,
  entries: readonly TimelineEntry[],
  impact: { start: string; end: string | null },
): string {
  const from = Date.parse(impact.start) - MAX_LEAD_MS;
  const shown = entries.filter((e) => Date.parse(e.at) >= from);
  const lastAt = Math.max(
    ...shown.map((e) => Date.parse(e.endedAt ?? e.at)),
    Date.parse(impact.start) + 1000,
  );
  const lines = [
    "gantt",
    `    title ${sanitiseMermaidLabel(title, 80)}`,
    "    dateFormat YYYY-MM-DD HH:mm:ss.SSS",
    "    axisFormat %H:%M:%S",
    "    section Impact",
    `    ${impact.end ? "Users affected" : "Users affected, not ended by the run"} :crit, ${mermaidTime(impact.start)}, ${mermaidTime(impact.end ?? new Date(lastAt).toISOString())}`,
  ];
  for (const kind of ["before", "alarm", "step", "action", "recovery"] as const) {
    const of = shown.filter((e) => e.kind === kind);
    if (of.length === 0) continue;
    lines.push(`    section ${SECTION[kind]}`);
    for (const e of of) {
      const label = sanitiseMermaidLabel(`${e.title} ${e.status}`);
      if (e.endedAt === null) {
        lines.push(`    ${label} :milestone, ${mermaidTime(e.at)}, 0s`);
        continue;
      }
      // At least 200 ms wide, so a 3 ms step stays visible.
      const end = new Date(Math.max(Date.parse(e.endedAt), Date.parse(e.at) + 200)).toISOString();
      const tags = e.highlight ? "crit, done" : e.status === "running" ? "active" : "done";
      lines.push(`    ${label} :${tags}, ${mermaidTime(e.at)}, ${mermaidTime(end)}`);
    }
  }
  return lines.join("\n");
}
