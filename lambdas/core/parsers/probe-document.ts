import { ok, type Section, unavailable } from "../shared/section.js";
import { ParseError, type ParseResult, parsed, parseFailure, splitLines } from "./errors.js";

/**
 * The probe's stdout as a document of sections (`==> NAME status=...`, `key=value` fields, `| raw` lines),
 * and the typed reading of one section's fields. The section readers (probe-process.ts, probe-jvm.ts, ...)
 * and parseProbeOutput (probe-output.ts) build on it.
 */

/** The parser name in the ParseErrors of the probe output. */
export const PROBE_PARSER = "probe-output";
const P = PROBE_PARSER;
export const PROBE_FORMAT = 1;

export interface ProbeSection {
  readonly name: string;
  readonly status: "ok" | "unavailable" | "invalid";
  readonly reason: string | null;
  /** 1-based line of the `==>` header in the probe's stdout. */
  readonly line: number;
  /** key=value lines, in order; keys may repeat (topFile=, peer=, sample=, idle.bucket=). */
  readonly fields: ReadonlyArray<{ key: string; value: string; line: number }>;
  /** `| ` raw lines with the prefix removed, and the 1-based stdout line of the first one. */
  readonly raw: readonly string[];
  readonly rawLine: number;
}

export interface ProbeDocument {
  readonly format: number;
  readonly version: string;
  readonly sections: ReadonlyMap<string, ProbeSection>;
  /** The `==> end` marker was seen: the output was not cut. */
  readonly complete: boolean;
  readonly lineCount: number;
}

/** Splits the probe's stdout into sections (no interpretation of their fields). */
export function splitProbeOutput(stdout: string): ParseResult<ProbeDocument> {
  const lines = splitLines(stdout);
  const first = lines[0] ?? "";
  const head = /^#runbook-probe format=(\d+) version=(\S+)$/.exec(first);
  if (!head?.[1] || !head[2])
    return parseFailure(P, 1, 'the header "#runbook-probe format=N version=V"', first);
  const format = Number(head[1]);
  if (format !== PROBE_FORMAT) return parseFailure(P, 1, `probe format ${PROBE_FORMAT}`, first);
  const sections = new Map<string, ProbeSection>();
  type Mut = { -readonly [K in keyof ProbeSection]: ProbeSection[K] } & {
    fields: { key: string; value: string; line: number }[];
    raw: string[];
  };
  let cur: Mut | null = null;
  let complete = false;
  for (let i = 1; i < lines.length; i++) {
    const text = lines[i] ?? "";
    const n = i + 1;
    if (text.startsWith("==> ")) {
      const m = /^==> ([A-Za-z][A-Za-z0-9]*) status=(ok|unavailable|invalid)(?: reason=(.*))?$/.exec(text);
      if (!m?.[1] || !m[2])
        return parseFailure(P, n, 'a section header "==> NAME status=ok|unavailable [reason=...]"', text);
      cur = {
        name: m[1],
        status: m[2] as ProbeSection["status"],
        reason: m[3] ?? null,
        line: n,
        fields: [],
        raw: [],
        rawLine: 0,
      };
      sections.set(cur.name, cur);
      if (cur.name === "end") complete = true;
      continue;
    }
    if (cur === null) return parseFailure(P, n, "a section header after the first line", text);
    if (text.startsWith("|")) {
      if (cur.raw.length === 0) cur.rawLine = n;
      cur.raw.push(text.startsWith("| ") ? text.slice(2) : text.slice(1));
      continue;
    }
    if (text === "") continue;
    const kv = /^([A-Za-z][A-Za-z0-9._-]*)=(.*)$/.exec(text);
    if (!kv?.[1]) return parseFailure(P, n, 'a "key=value" line or a "| raw" line', text);
    cur.fields.push({ key: kv[1], value: kv[2] ?? "", line: n });
  }
  return parsed({ format, version: head[2], sections, complete, lineCount: lines.length });
}

/** Reads typed fields of one section; a bad field throws FieldError, caught per section. */
class FieldError extends Error {}
export class Fields {
  constructor(private readonly s: ProbeSection) {}
  private find(key: string) {
    return this.s.fields.find((f) => f.key === key);
  }
  private fail(key: string, expected: string): never {
    const f = this.find(key);
    throw new FieldError(
      new ParseError({
        parser: P,
        line: f?.line ?? this.s.line,
        expected: `${key}=${expected} in section ${this.s.name}`,
        excerpt: f ? `${f.key}=${f.value}` : "",
      }).message,
    );
  }
  str(key: string): string {
    const f = this.find(key);
    if (!f) this.fail(key, "<text>");
    return f.value;
  }
  optStr(key: string): string | null {
    const v = this.find(key)?.value;
    return v === undefined || v === "" ? null : v;
  }
  int(key: string): number {
    const v = this.find(key)?.value ?? "";
    if (!/^\d+$/.test(v)) this.fail(key, "<whole number>");
    return Number(v);
  }
  optInt(key: string): number | null {
    const v = this.find(key)?.value ?? "";
    if (v === "") return null;
    if (!/^\d+$/.test(v)) this.fail(key, "<whole number> or empty");
    return Number(v);
  }
  optNum(key: string): number | null {
    const v = this.find(key)?.value ?? "";
    if (v === "") return null;
    if (!/^\d+(\.\d+)?$/.test(v)) this.fail(key, "<number> or empty");
    return Number(v);
  }
  bool(key: string): boolean {
    const v = this.find(key)?.value;
    if (v !== "true" && v !== "false") this.fail(key, "true|false");
    return v === "true";
  }
  all(key: string) {
    return this.s.fields.filter((f) => f.key === key);
  }
  prefixed(prefix: string) {
    return this.s.fields.filter((f) => f.key.startsWith(prefix));
  }
  error(line: number, expected: string, excerpt: string): never {
    throw new FieldError(new ParseError({ parser: P, line, expected, excerpt }).message);
  }
}

/** Counted `N rest-of-line` values (topFile=, peer=). */
export function counted(f: Fields, key: string, label: string) {
  return f.all(key).map((e) => {
    const m = /^(\d+) (.+)$/.exec(e.value);
    if (!m?.[2]) return f.error(e.line, `${key}=<count> <${label}>`, `${e.key}=${e.value}`);
    return { count: Number(m[1]), value: m[2] };
  });
}

export function section<T>(
  doc: ProbeDocument,
  name: string,
  read: (f: Fields, s: ProbeSection) => T | ParseResult<T>,
): Section<T> {
  const s = doc.sections.get(name);
  if (!s) {
    return unavailable(
      doc.complete
        ? `section ${name} missing from the probe output`
        : `section ${name} missing: probe output ends at line ${doc.lineCount} without "==> end" (cut short or timed out)`,
    );
  }
  if (s.status !== "ok")
    return unavailable(s.reason?.trim() || `section ${name} is ${s.status} (no reason given)`);
  try {
    const out = read(new Fields(s), s);
    if (isResult(out))
      return out.ok ? ok(out.value) : unavailable(`probe output unparsable: ${out.error.message}`);
    return ok(out);
  } catch (e) {
    if (e instanceof FieldError) return unavailable(`probe output unparsable: ${e.message}`);
    throw e;
  }
}

function isResult<T>(v: T | ParseResult<T>): v is ParseResult<T> {
  return typeof v === "object" && v !== null && "ok" in v && typeof (v as { ok: unknown }).ok === "boolean";
}

/** Shifts a raw-block parser's line number to the probe stdout's line number. */
export function atLine<T>(r: ParseResult<T>, s: ProbeSection): ParseResult<T> {
  if (r.ok) return r;
  const e = r.error;
  return {
    ok: false,
    error: new ParseError(
      {
        parser: e.parser,
        line: e.line + Math.max(0, s.rawLine - 1),
        expected: e.expected,
        excerpt: e.excerpt,
      },
      { cause: e },
    ),
  };
}
