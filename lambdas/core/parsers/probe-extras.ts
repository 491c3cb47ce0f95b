import { LOG_SOURCES } from "../evidence/schema.js";

/** Fields of newer probes (issue 13, "Evidence first"), each absent in an older probe's output. */

/** The log discovery fields of the logs section: which log was read, why, what was passed over. */
export function logDiscovery(
  source: string | null,
  why: string | null,
  passedOver: readonly { value: string }[],
) {
  const known = LOG_SOURCES.find((s) => s === source);
  return {
    ...(known ? { source: known } : {}),
    ...(why ? { why } : {}),
    ...(passedOver.length ? { passedOver: passedOver.slice(0, 10).map((p) => p.value) } : {}),
  };
}

/** The probe's key=value fields of a section (probe-document.ts's Fields). */
interface FieldReader {
  int(key: string): number;
  optInt(key: string): number | null;
  optStr(key: string): string | null;
}

/** The heap section's options for the jstat parser: the sample interval, and when the last full GC ended. */
export function heapOptions(f: FieldReader): { sampleIntervalMs: number; lastFullGcAgoMs?: string | null } {
  return { sampleIntervalMs: f.int("sampleIntervalMs"), lastFullGcAgoMs: f.optStr("lastFullGcAgoMs") };
}

/** The end section's attach time box and why it was short (nothing when absent or unreadable). */
export function attachOf(end: FieldReader | null): { attach?: { boxSeconds: number; why: string | null } } {
  try {
    const boxSeconds = end?.optInt("attachBoxSeconds");
    return boxSeconds === null || boxSeconds === undefined
      ? {}
      : { attach: { boxSeconds, why: end?.optStr("attachBoxWhy") ?? null } };
  } catch {
    return {};
  }
}

/** The end section's `section=NAME START_MS DURATION_MS` lines, in start order (nothing when absent or unreadable). */
export function sectionTimesOf(end: { all(key: string): { value: string }[] } | null): {
  sections?: { name: string; startMs: number; durationMs: number }[];
} {
  const rows = (end?.all("section") ?? []).flatMap((e) => {
    const m = /^([A-Za-z]+) (\d+) (\d+)$/.exec(e.value);
    return m ? [{ name: m[1] as string, startMs: Number(m[2]), durationMs: Number(m[3]) }] : [];
  });
  return rows.length
    ? { sections: rows.sort((a, b) => a.startMs - b.startMs || a.name.localeCompare(b.name)) }
    : {};
}

const LISTENER_RELATIONS = ["owner", "launcher-child", "none", "unknown"] as const;
export function listenerRelation(v: string | null): (typeof LISTENER_RELATIONS)[number] {
  return LISTENER_RELATIONS.find((r) => r === v) ?? "unknown";
}
