import { isMap, LineCounter, parseDocument, parse as parseYaml } from "yaml";
import { type RunbookError, type RunbookIssue, RunbookSchemaError, RunbookSyntaxError } from "./errors.js";
import { checkRunbookData, excerptAt, formatPath, locate, type Result } from "./load.js";
import type { Path } from "./references.js";
import { RUNBOOK_API_VERSION, type Runbook, runbookSchema } from "./schema.js";

/**
 * Runbook overrides: change a shipped runbook's thresholds, ladders, modes, probe settings, redaction
 * patterns... without forking it. An override is a partial runbook with `extends: <runbook id>`; it is
 * merged over the base and the RESULT is validated like any runbook (docs/runbook-overrides.md).
 *
 * Merge rules (JSON Merge Patch, RFC 7396, plus merge-by-id for lists of objects with an `id`):
 * - mappings merge key by key, recursively; a scalar or a list replaces what the base has;
 * - `null` removes the key from the base (e.g. a threshold or a class's ladder);
 * - a list whose items all have an `id` (classes, hypotheses, variants) merges item by item: an item
 *   with a base id is merged into that item, an item with a new id is appended; other lists (a ladder's
 *   rungs, conditions, `cite`, `precedence`) are replaced whole.
 */
export const EXTENDS_KEY = "extends";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Loose, readable type of an override for TypeScript callers (the construct's `runbook` prop). */
export type DeepPartial<T> = T extends readonly (infer U)[]
  ? readonly DeepPartial<U>[]
  : T extends object
    ? { readonly [K in keyof T]?: DeepPartial<T[K]> | null }
    : T;
export type RunbookOverride = DeepPartial<Omit<Runbook, "apiVersion" | "id" | "$schema">> & {
  /** The runbook this override changes. @default the base it is applied to */
  readonly extends?: string;
  readonly apiVersion?: string;
  readonly $schema?: string;
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
/** Lists merge by `id` (classes, hypotheses, variants) or, failing that, by `name` (redaction patterns). */
const KEYS = ["id", "name"] as const;
const keyFor = (list: readonly unknown[]): (typeof KEYS)[number] | null =>
  KEYS.find((k) => list.length > 0 && list.every((v) => isObject(v) && typeof v[k] === "string")) ?? null;

/** The merge described above. Pure; neither input is changed. */
export function mergeOverride(base: unknown, over: unknown): unknown {
  if (isObject(base) && isObject(over)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) {
      if (v === null) delete out[k];
      else out[k] = mergeOverride(base[k], v);
    }
    return out;
  }
  const key = Array.isArray(base) && Array.isArray(over) ? keyFor(over) : null;
  if (Array.isArray(base) && Array.isArray(over) && key !== null && keyFor(base) === key) {
    const k = (v: unknown) => (v as Record<string, unknown>)[key];
    const out = base.map((item) => {
      const match = over.find((o) => k(o) === k(item));
      return match === undefined ? item : mergeOverride(item, match);
    });
    for (const o of over) if (!base.some((b) => k(b) === k(o))) out.push(o);
    return out;
  }
  return structuredClone(over);
}

/** `classes[id=websocket-session-leak].variants[id=with-histogram].confidence`: stable across merges. */
export function idPath(data: unknown, path: readonly PropertyKey[]): string {
  let cur: unknown = data;
  let out = "";
  for (const p of path) {
    if (typeof p === "number") {
      const key = Array.isArray(cur) ? keyFor(cur) : null;
      const item = Array.isArray(cur) ? (cur[p] as Record<string, unknown>) : null;
      out += key === null || item === null ? `[${p}]` : `[${key}=${String(item[key])}]`;
    } else out += out === "" ? String(p) : `.${String(p)}`;
    cur =
      isObject(cur) || Array.isArray(cur) ? (cur as Record<PropertyKey, unknown>)[p as string] : undefined;
  }
  return out;
}

/** The same place in the override document, following ids; null when the value came from the base. */
export function overridePath(merged: unknown, over: unknown, path: readonly PropertyKey[]): Path | null {
  const out: Path = [];
  let m: unknown = merged;
  let o: unknown = over;
  for (const p of path) {
    if (o === undefined) return null;
    if (typeof p === "number") {
      if (!Array.isArray(m) || !Array.isArray(o)) return null;
      const key = keyFor(o);
      const wanted = key === null ? undefined : (m[p] as Record<string, unknown> | undefined)?.[key];
      const j =
        key !== null && wanted !== undefined
          ? o.findIndex((x) => (x as Record<string, unknown>)[key] === wanted)
          : p;
      if (j < 0 || j >= o.length) return null;
      out.push(j);
      m = m[p];
      o = o[j];
    } else {
      if (!isObject(o)) return null;
      out.push(String(p));
      m = isObject(m) ? m[String(p)] : undefined;
      o = o[String(p)];
    }
  }
  return o === undefined ? null : out;
}

export interface OverrideInput {
  /** The override as YAML (or JSON) text, with `source` naming it (a file path), or as data (an object). */
  readonly text?: string;
  readonly data?: unknown;
  readonly source: string;
}

const ALLOWED_TOP = new Set([EXTENDS_KEY, ...Object.keys(runbookSchema.shape)]);

/**
 * Applies an override to a validated base runbook and validates the result. Errors name the override
 * (file:line:column when it is text), the field path (lists by id) and what was expected.
 */
export function resolveRunbook(base: Runbook, input: OverrideInput): Result<Runbook, RunbookError> {
  const { source } = input;
  let data: unknown = input.data;
  const lc = new LineCounter();
  const doc =
    input.text === undefined ? null : parseDocument(input.text, { lineCounter: lc, uniqueKeys: true });
  if (doc) {
    if (doc.errors.length > 0) {
      const e = doc.errors[0];
      const pos = lc.linePos(e?.pos[0] ?? 0);
      const issue: RunbookIssue = {
        path: "",
        message: (e?.message ?? "invalid YAML").replace(/ at line \d+, column \d+:?[\s\S]*$/, ""),
        line: pos.line,
        column: pos.col,
        excerpt: excerptAt(input.text ?? "", pos.line, pos.col),
      };
      return { ok: false, error: new RunbookSyntaxError(source, `${source}: not valid YAML`, [issue]) };
    }
    if (!isMap(doc.contents)) {
      return fail(source, [{ path: [], message: "expected a mapping (a runbook override)" }], null);
    }
    data = doc.toJS() as Json;
  }
  const where = (path: Path, atKey = false) =>
    doc && input.text !== undefined
      ? locate(doc, lc, input.text, path, atKey)
      : { line: null, column: null, excerpt: null };
  if (!isObject(data)) {
    return fail(source, [{ path: [], message: "expected a mapping (a runbook override)" }], null);
  }
  const first: Array<{ path: Path; message: string; atKey?: boolean }> = [];
  for (const key of Object.keys(data)) {
    if (!ALLOWED_TOP.has(key))
      first.push({
        path: [key],
        message: `unknown key "${key}" (an override may set: ${[...ALLOWED_TOP].join(", ")})`,
        atKey: true,
      });
  }
  const ext = data[EXTENDS_KEY];
  if (ext !== undefined && ext !== base.id)
    first.push({
      path: [EXTENDS_KEY],
      message: `expected "${base.id}" (the runbook this applies to), got ${JSON.stringify(ext)}`,
    });
  if (data.id !== undefined && data.id !== base.id)
    first.push({
      path: ["id"],
      message: `an override cannot change the runbook id: expected "${base.id}" or nothing, got ${JSON.stringify(data.id)}`,
    });
  if (data.apiVersion !== undefined && data.apiVersion !== RUNBOOK_API_VERSION)
    first.push({
      path: ["apiVersion"],
      message: `expected ${RUNBOOK_API_VERSION}, got ${JSON.stringify(data.apiVersion)}`,
    });
  if (first.length > 0) {
    return fail(
      source,
      first.map((f) => ({ path: formatPath(f.path), message: f.message, ...where(f.path, f.atKey) })),
      null,
    );
  }
  const { [EXTENDS_KEY]: _extends, ...changes } = data;
  const merged = mergeOverride(base, changes);
  const checked = checkRunbookData(merged);
  if (checked.ok) return checked;
  const issues = checked.error.issues.map((i) => {
    const inOverride = overridePath(merged, changes, i.path);
    const fromBase = inOverride === null ? " (the value comes from the base runbook)" : "";
    return {
      path: idPath(merged, i.path),
      message: `${i.message}${fromBase}`,
      ...(inOverride ? where(inOverride, i.atKey) : { line: null, column: null, excerpt: null }),
    };
  });
  return fail(source, issues, checked.error.cause);
}

function fail(
  source: string,
  issues: ReadonlyArray<RunbookIssue | { path: PropertyKey[]; message: string }>,
  cause: unknown,
): { ok: false; error: RunbookError } {
  const full: RunbookIssue[] = issues.map((i) =>
    typeof i.path === "string"
      ? (i as RunbookIssue)
      : { path: formatPath(i.path), message: i.message, line: null, column: null, excerpt: null },
  );
  return {
    ok: false,
    error: new RunbookSchemaError(
      source,
      `${source}: the runbook override is not valid (${full.length} problem(s))`,
      full,
      cause === null ? undefined : { cause },
    ),
  };
}

/** True when runbook data is an override (it says which runbook it extends) rather than a whole runbook. */
export const isOverride = (data: unknown): boolean => isObject(data) && EXTENDS_KEY in data;

/** The `extends:` of an override file's text, or null for a whole runbook (or text that is not YAML: parseRunbook says why). */
export function overrideBaseOf(text: string): string | null {
  try {
    const data: unknown = parseYaml(text);
    if (!isOverride(data)) return null;
    return String((data as Record<string, unknown>)[EXTENDS_KEY]);
  } catch {
    return null;
  }
}
