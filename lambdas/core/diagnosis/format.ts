import type { Evidence } from "../evidence/schema.js";
import type { Diagnosis } from "./schema.js";

const pct = (c: number) => `${Math.round(c * 100)}%`;

/** The readable report of `runbook diagnose --output text`. Pure. */
export function formatDiagnosisText(d: Diagnosis, e: Evidence, durationMs: number): string {
  const lines: string[] = [];
  lines.push(`Root cause: ${d.rootCause.id} (confidence ${pct(d.rootCause.confidence)})`);
  lines.push(`  ${d.rootCause.summary}`);
  lines.push("");
  lines.push("Findings:");
  if (!d.findings.length) lines.push("  (none)");
  for (const f of d.findings) {
    lines.push(`  - ${f.id} [${f.kind}] ${pct(f.confidence)}: ${f.summary}`);
    for (const ev of f.evidence) lines.push(`      · ${ev.text}`);
    for (const c of f.caveats) lines.push(`      ! ${c}`);
  }
  if (d.contributing.length) {
    lines.push("");
    lines.push("Contributing factors:");
    for (const c of d.contributing) {
      lines.push(`  - ${c.id}: ${c.summary}`);
      for (const ev of c.evidence) lines.push(`      · ${ev.text}`);
    }
  }
  lines.push("");
  lines.push("Ruled out:");
  if (!d.ruledOut.length) lines.push("  (nothing)");
  for (const r of d.ruledOut) {
    lines.push(`  - ${r.id}: ${r.hypothesis}`);
    for (const ev of r.evidence) lines.push(`      · ${ev.text}`);
  }
  if (d.notEvaluated.length) {
    lines.push("");
    lines.push("Not evaluated (evidence missing):");
    for (const n of d.notEvaluated) lines.push(`  - ${n.id}: ${n.reason}`);
  }
  if (d.ruleErrors.length) {
    lines.push("");
    lines.push("Rule errors (the runbook needs fixing):");
    for (const r of d.ruleErrors) lines.push(`  - ${r.ruleId}: ${r.message}`);
  }
  const unavailable = Object.entries(e)
    .filter(
      ([, v]) => typeof v === "object" && v !== null && (v as { status?: string }).status === "unavailable",
    )
    .map(([k, v]) => `${k}: ${(v as { reason: string }).reason}`);
  if (unavailable.length) {
    lines.push("");
    lines.push("Evidence unavailable:");
    for (const u of unavailable) lines.push(`  - ${u}`);
  }
  const attach = e.collector.attach;
  if (attach?.why) {
    lines.push("");
    lines.push(`JVM attach: time box ${attach.boxSeconds} s, short because ${attach.why}`);
  }
  if (e.logs.status === "ok") {
    const l = e.logs.data;
    lines.push("");
    lines.push(`Log read: ${l.path}${l.why ? ` (${l.why})` : ""}`);
  }
  lines.push("");
  lines.push(
    `Target ${e.target}, port ${e.input.port}, collected ${e.collectedAt} in ${e.collector.durationMs} ms (probe output ${e.collector.outputChars} chars); diagnosis in ${durationMs} ms.`,
  );
  return lines.join("\n");
}
