import { type Document, isMap, isNode, isScalar, LineCounter, parseDocument } from "yaml";
import type * as z from "zod";
import {
  type RunbookError,
  type RunbookIssue,
  RunbookReferenceError,
  RunbookSchemaError,
  RunbookSyntaxError,
} from "./errors.js";
import { describeValue as describe, expectedOneOf } from "./expected.js";
import { checkReferences, type Path } from "./references.js";
import { type Runbook, runbookSchema } from "./schema.js";

export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E };

/** `classes[2].variants[0].all[1].op` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out === "" ? String(p) : `.${String(p)}`;
  }
  return out;
}

const MAX_EXCERPT_LINE = 120;

/** The line before and the line itself, numbered, with a caret under the column. */
export function excerptAt(text: string, line: number, column: number): string {
  const lines = text.split(/\r?\n/);
  const width = String(line).length;
  const cut = (s: string) => (s.length > MAX_EXCERPT_LINE ? `${s.slice(0, MAX_EXCERPT_LINE)}…` : s);
  const out: string[] = [];
  for (let n = Math.max(1, line - 1); n <= line; n++) {
    const content = lines[n - 1];
    if (content === undefined) continue;
    out.push(`${n === line ? ">" : " "} ${String(n).padStart(width)} | ${cut(content)}`);
  }
  const caretCol = Math.min(Math.max(column, 1), MAX_EXCERPT_LINE + 1);
  out.push(`  ${" ".repeat(width)} | ${" ".repeat(caretCol - 1)}^`);
  return out.join("\n");
}

export interface Located {
  line: number | null;
  column: number | null;
  excerpt: string | null;
}

function at(lc: LineCounter, text: string, offset: number): Located {
  const { line, col } = lc.linePos(offset);
  return { line, column: col, excerpt: excerptAt(text, line, col) };
}

/** The position of the node at `path`, or of its nearest existing ancestor; `atKey` points at the key itself. */
export function locate(doc: Document, lc: LineCounter, text: string, path: Path, atKey = false): Located {
  const last = path[path.length - 1];
  if (atKey && typeof last === "string") {
    const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
    if (isMap(parent)) {
      const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === last);
      if (pair && isNode(pair.key) && pair.key.range) return at(lc, text, pair.key.range[0]);
    }
  }
  for (let len = path.length; len >= 0; len--) {
    const sub = path.slice(0, len);
    const node = sub.length === 0 ? doc.contents : doc.getIn(sub, true);
    if (isNode(node) && node.range) return at(lc, text, node.range[0]);
  }
  return { line: null, column: null, excerpt: null };
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = data;
  for (const p of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p as string];
  }
  return cur;
}

interface FlatIssue {
  path: PropertyKey[];
  message: string;
  /** Locate the key rather than the value (unknown keys). */
  atKey?: boolean;
}

type ZodIssue = z.core.$ZodIssue;

/** Flattens zod issues, resolving unions to the branch the input was evidently written for. */
function flatten(issues: readonly ZodIssue[], base: PropertyKey[], data: unknown): FlatIssue[] {
  const out: FlatIssue[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    const actual = valueAt(data, path);
    if (issue.code === "invalid_union" && issue.errors.length > 0) {
      const branches = issue.errors;
      const rootTypeOnly = branches.every(
        (b) => b.length === 1 && b[0]?.code === "invalid_type" && b[0].path.length === 0,
      );
      if (rootTypeOnly) {
        const expected = [...new Set(branches.map((b) => (b[0] as { expected?: string }).expected ?? "?"))];
        out.push({ path, message: `expected ${expected.join(" | ")}, got ${describe(actual)}` });
        continue;
      }
      const shaped = branches.filter(
        (b) =>
          !b.some(
            (i) => i.path.length === 0 && (i.code === "unrecognized_keys" || i.code === "invalid_type"),
          ),
      );
      const pool = shaped.length > 0 ? shaped : branches;
      const best = pool.reduce((a, b) => (b.length < a.length ? b : a));
      out.push(...flatten(best, path, data));
      continue;
    }
    let message = issue.message;
    if (issue.code === "invalid_value") {
      const options = issue.values.map(String);
      message =
        options.length === 1
          ? `expected ${options[0]}, got ${describe(actual)}`
          : expectedOneOf(options, actual);
    } else if (issue.code === "invalid_format") {
      message += `, got ${describe(actual)}`;
    } else if (issue.code === "invalid_type") {
      message =
        actual === undefined
          ? `missing required key (expected ${issue.expected})`
          : `expected ${issue.expected}, got ${describe(actual)}`;
    }
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        out.push({ path: [...path, key], message: `unknown key "${key}"`, atKey: true });
      }
      continue;
    }
    out.push({ path, message });
  }
  return out;
}

/**
 * Parses and validates a runbook from YAML text. Pure: the caller reads the file.
 * `source` names the text in messages (a file path).
 */
export function parseRunbook(text: string, source: string): Result<Runbook, RunbookError> {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // The first few errors: later ones are mostly consequences of the first.
    const issues: RunbookIssue[] = doc.errors.slice(0, 3).map((e) => ({
      path: "",
      message: e.message.replace(/ at line \d+, column \d+:?[\s\S]*$/, ""),
      ...at(lc, text, e.pos[0]),
    }));
    return {
      ok: false,
      error: new RunbookSyntaxError(source, `${source}: not valid YAML`, issues, { cause: doc.errors[0] }),
    };
  }

  const data: unknown = doc.toJS();
  const checked = checkRunbookData(data);
  if (checked.ok) return checked;
  const issues = checked.error.issues.map((f) => ({
    path: formatPath(f.path),
    message: f.message,
    ...locate(doc, lc, text, f.path as Path, f.atKey),
  }));
  const ErrorClass = checked.error.kind === "schema" ? RunbookSchemaError : RunbookReferenceError;
  const summary =
    checked.error.kind === "schema"
      ? `${source}: not a valid runbook (${issues.length} problem(s))`
      : `${source}: unresolved references in the runbook (${issues.length} problem(s))`;
  return { ok: false, error: new ErrorClass(source, summary, issues, { cause: checked.error.cause }) };
}

/** What is wrong with runbook data: structure (schema) or references, each issue with its path. */
export interface RunbookDataProblems {
  kind: "schema" | "reference";
  issues: Array<{ path: PropertyKey[]; message: string; atKey?: boolean }>;
  cause?: unknown;
}

/** Validates parsed runbook data (from YAML, JSON or an object): the schema, then the references. Pure. */
export function checkRunbookData(data: unknown): Result<Runbook, RunbookDataProblems> {
  const parsed = runbookSchema.safeParse(data);
  if (!parsed.success) {
    return {
      ok: false,
      error: { kind: "schema", issues: flatten(parsed.error.issues, [], data), cause: parsed.error },
    };
  }
  const problems = checkReferences(parsed.data);
  if (problems.length > 0) return { ok: false, error: { kind: "reference", issues: problems } };
  return { ok: true, value: parsed.data };
}
