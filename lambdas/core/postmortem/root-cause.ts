import type { Diagnosis, EvidenceLine, Finding } from "../diagnosis/schema.js";
import type { IncidentRecord } from "../incident/schema.js";
import { evaluateCondition } from "../rules/conditions.js";
import type { MetricMap } from "../rules/metrics.js";
import { compareTomcatVersions, parseTomcatVersion } from "../rules/tomcat-version.js";
import { dataOf } from "../shared/section.js";
import { type Facts, fill } from "./facts.js";
import { formatTime } from "./format.js";
import type { ClassKnowledge } from "./knowledge-schema.js";
import { formatNumbersIn, type Snapshot } from "./record-view.js";
import type { Postmortem } from "./schema.js";

type Linked = { text: string; link: string | null };

/** A long tool error cut to its gist: package names dropped, up to the first exception, at most 120 characters. */
export function shortReason(reason: string, max = 120): string {
  const cut = reason
    .replace(/\b(?:[a-z_$][\w$]*\.)+([A-Z][\w$]*(?:Exception|Error))/g, "$1")
    .replace(/^(.*?(?:Exception|Error))\b.*$/s, "$1");
  if (cut.length <= max) return cut;
  const head = cut.slice(0, max - 1);
  return `${head.slice(0, Math.max(head.lastIndexOf(" "), 60)).trimEnd()} …`;
}

/** Available evidence lines, numbers formatted, each linked to the raw evidence it was read from. */
export function linked(lines: readonly EvidenceLine[], link: string | null): Linked[] {
  return lines.filter((l) => l.value !== null).map((l) => ({ text: formatNumbersIn(l.text), link }));
}

/** The re-diagnosis after the relief batch (with the class histogram), when the run made one. */
function confirmationOf(record: IncidentRecord) {
  const c = record.steps.find((s) => s.id === "collect-after-relief")?.outputs.confirmation as
    | { rootCause?: string; confidence?: number; confirms?: boolean }
    | undefined;
  return c?.rootCause !== undefined && typeof c.confidence === "number" ? c : null;
}

function caveatOf(
  d: Diagnosis,
  finding: Finding | undefined,
  confirmed: boolean,
  before: Snapshot,
): string | null {
  const missing = (finding?.evidence ?? []).filter((l) => l.value === null);
  const parts: string[] = [];
  if (missing.length > 0) {
    const why = missing[0]?.text.match(/unavailable \((.*)\)$/)?.[1] ?? "not collected";
    const names = [...new Set(missing.map((l) => l.text.split(":")[0]))].join(", ");
    parts.push(
      `Not measured at the start (${formatTime(before.evidence?.collectedAt ?? null)}): ${names}; ${shortReason(why)}.` +
        (confirmed ? " They were measured after the relief batch (the proof above)." : ""),
    );
  }
  // The rules' caveats explain a weaker variant; a confirming re-diagnosis supersedes them.
  if (!confirmed) for (const c of finding?.caveats ?? []) parts.push(formatNumbersIn(c));
  if (!finding) parts.push(`No finding with cited evidence backs this root cause (${d.rootCause.id}).`);
  return parts.length ? parts.join(" ") : null;
}

export function rootCauseOf(
  record: IncidentRecord,
  knowledge: ClassKnowledge,
  facts: Facts,
  metrics: MetricMap,
  before: Snapshot,
): Postmortem["rootCause"] {
  const d = record.diagnosis;
  if (!d) return null;
  const finding = d.findings.find((f) => f.id === d.rootCause.id);
  const first = Math.round(d.rootCause.confidence * 100);
  const c = confirmationOf(record);
  const confirmed = c?.confirms === true && c.rootCause === d.rootCause.id;
  const final = confirmed ? Math.round((c?.confidence ?? 0) * 100) : first;
  const proof = knowledge.proof ? fill(knowledge.proof, facts, metrics) : null;
  return {
    id: d.rootCause.id,
    title: finding?.title ?? knowledge.title,
    confidencePercent: final,
    confidenceNote:
      c === null
        ? null
        : confirmed
          ? final === first
            ? `Confirmed after the relief batch at ${final}%.`
            : `First diagnosed at ${first}% (variant ${finding?.variant ?? "unknown"}); ${final}% after the relief batch, with the class histogram.`
          : `Diagnosed again after the relief batch as ${c.rootCause} (${Math.round((c.confidence ?? 0) * 100)}%), which differs from the first call: review it.`,
    proof: proof?.complete ? proof.text : null,
    summary: formatNumbersIn(finding?.summary ?? d.rootCause.summary),
    evidence: linked(finding?.evidence ?? [], before.link),
    caveat: caveatOf(d, finding, confirmed, before),
  };
}

/** Contributing factors: the class's conditions that hold on the evidence, the diagnosis's, the detection. */
export function contributingOf(
  record: IncidentRecord,
  knowledge: ClassKnowledge,
  facts: Facts,
  metrics: MetricMap,
): Postmortem["contributing"] {
  const out: Postmortem["contributing"] = [];
  for (const c of knowledge.contributing) {
    if (evaluateCondition(c.when, metrics, {}).truth === "true")
      out.push({ id: c.id, text: fill(c.text, facts, metrics).text });
  }
  for (const c of record.diagnosis?.contributing ?? [])
    out.push({ id: c.id, text: formatNumbersIn(c.summary) });
  const before = record.evidence.before;
  if (record.trigger.kind === "manual" && before !== null && before.health.outcome !== "ok")
    out.push({
      id: "no-alarm",
      text: `No alarm fired before a person noticed: ${record.trigger.source} started the run by hand.`,
    });
  return out;
}

export function ruledOutOf(
  d: Diagnosis | null,
  before: Snapshot,
  hasKnownFixes: boolean,
): Postmortem["ruledOut"] {
  const at = before.evidence
    ? `${before.label} (${formatTime(before.evidence.collectedAt)} UTC)`
    : before.label;
  return (d?.ruledOut ?? []).map((r) => {
    const fields = [...new Set(r.evidence.map((l) => `\`${l.field}\``))].join(", ");
    const version = r.evidence.some((l) => l.field.startsWith("tomcat."));
    return {
      id: r.id,
      hypothesis: r.hypothesis,
      scope:
        `Ruled out on the evidence ${at} only${fields ? `, from ${fields}` : ""}.` +
        (version && hasKnownFixes
          ? " Only the fix it names was checked; the other known fixes are in the table below."
          : ""),
      evidence: linked(r.evidence, before.link),
    };
  });
}

/** The class's known fixes against the recorded version (rules/tomcat-version.ts compares them). */
export function knownFixesOf(knowledge: ClassKnowledge, before: Snapshot): Postmortem["knownFixes"] {
  const k = knowledge.knownFixes;
  if (!k) return null;
  const raw = before.evidence ? (dataOf(before.evidence.tomcat)?.version ?? null) : null;
  const v = raw ? parseTomcatVersion(raw) : null;
  return {
    product: k.product,
    version: raw,
    rows: k.fixes.map((f) => {
      const fixed = f.fixedIn.map((x) => parseTomcatVersion(x)).filter((x) => x !== null);
      let status = "unknown: no version in the evidence";
      if (v) {
        const same = fixed.find((x) => x.major === v.major && x.minor === v.minor);
        const newest = fixed.reduce((a, b) => (compareTomcatVersions(a, b) >= 0 ? a : b));
        if (same) status = compareTomcatVersions(v, same) >= 0 ? "included" : "missing: upgrade";
        else if (compareTomcatVersions(v, newest) > 0) status = "included (a later line)";
        else status = "missing: no fixed release of this line on record";
      }
      return { id: f.id, url: f.url, title: f.title, fixedIn: f.fixedIn.join(", "), status };
    }),
  };
}
