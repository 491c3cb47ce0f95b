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

/** "2025-03-11T02:14:05.000Z" -> "2025-03-11 02:14:05" (UTC wall clock, matching `dateFormat`). */
function mermaidTime(iso: string): string {
  return new Date(iso).toISOString().slice(0, 19).replace("T", " ");
}

const SECTION: Record<TimelineEntry["kind"], string> = {
  alarm: "Detection",
  step: "Runbook steps",
  action: "Mitigation",
  recovery: "Recovery",
};

export function mermaidGantt(title: string, entries: readonly TimelineEntry[]): string {
  const lines = [
    "gantt",
    `    title ${sanitiseMermaidLabel(title, 80)}`,
    "    dateFormat YYYY-MM-DD HH:mm:ss",
    "    axisFormat %H:%M",
  ];
  for (const kind of ["alarm", "step", "action", "recovery"] as const) {
    const of = entries.filter((e) => e.kind === kind);
    if (of.length === 0) continue;
    lines.push(`    section ${SECTION[kind]}`);
    for (const e of of) {
      const seconds = Math.max(1, Math.round((e.durationMs ?? 0) / 1000));
      const tags =
        kind === "alarm" || kind === "recovery"
          ? "milestone"
          : e.highlight
            ? "crit, done"
            : e.status === "running"
              ? "active"
              : "done";
      lines.push(
        `    ${sanitiseMermaidLabel(`${e.title} ${e.status}`)} :${tags}, ${mermaidTime(e.at)}, ${kind === "alarm" || kind === "recovery" ? 1 : seconds}s`,
      );
    }
  }
  return lines.join("\n");
}
