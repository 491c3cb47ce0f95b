import type { EvidenceLine } from "../diagnosis/schema.js";
import type { Evidence } from "../evidence/schema.js";
import type { Cite } from "../runbook/schema.js";
import { fmtMs, type MetricMap, type MetricValue, metricDef, whyUnavailable } from "./metrics.js";

/** Small pure formatters: metric values, `{placeholder}` templates and evidence lines. */

export const PLACEHOLDER_RE = /\{([A-Za-z][A-Za-z0-9.]*)\}/g;

export function placeholdersOf(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER_RE)].map((m) => m[1] ?? "");
}

export function formatValue(name: string, value: MetricValue): string {
  if (value === null) return "n/a";
  const def = metricDef(name);
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value !== "number" || !def) return String(value);
  switch (def.format) {
    case "ratio":
      return `${Math.round(value * 100)}%`;
    case "percent":
      return `${Math.round(value * 10) / 10}%`;
    case "ms":
      return fmtMs(value);
    case "seconds":
      return `${value} s`;
    default:
      return String(value);
  }
}

/** Fills `{metric}` placeholders from the metrics, and `{name}` from `extra` first. */
export function renderTemplate(
  template: string,
  metrics: MetricMap,
  extra: Readonly<Record<string, string>> = {},
): string {
  return template.replace(PLACEHOLDER_RE, (whole, name: string) => {
    if (Object.hasOwn(extra, name)) return extra[name] ?? "";
    if (Object.hasOwn(metrics, name)) return formatValue(name, metrics[name] ?? null);
    return whole;
  });
}

/** One evidence line for a metric: its sentence, the cite's template, or `label: unavailable (why)`. */
export function evidenceLine(cite: Cite, metrics: MetricMap, evidence: Evidence): EvidenceLine {
  const name = typeof cite === "string" ? cite : cite.metric;
  const value = Object.hasOwn(metrics, name) ? (metrics[name] ?? null) : null;
  const def = metricDef(name);
  if (value === null) {
    return {
      text: `${def?.label ?? name}: unavailable (${whyUnavailable(name, evidence)})`,
      field: name,
      value,
    };
  }
  let text: string;
  if (typeof cite !== "string") text = renderTemplate(cite.text, metrics);
  else if (def?.sentence) text = def.sentence(metrics);
  else text = `${def?.label ?? name}: ${formatValue(name, value)}`;
  return { text, field: name, value };
}

export function evidenceLines(
  cites: readonly Cite[],
  metrics: MetricMap,
  evidence: Evidence,
): EvidenceLine[] {
  const seen = new Set<string>();
  const out: EvidenceLine[] = [];
  for (const c of cites) {
    const key = typeof c === "string" ? c : `${c.metric}|${c.text}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(evidenceLine(c, metrics, evidence));
  }
  return out;
}
