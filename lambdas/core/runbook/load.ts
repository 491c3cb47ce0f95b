import { type Document, isNode, LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import {
  type RunbookError,
  type RunbookIssue,
  RunbookReferenceError,
  RunbookSchemaError,
  RunbookSyntaxError,
} from "./errors.js";
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

interface Located {
  line: number | null;
  column: number | null;
  excerpt: string | null;
}

function locate(doc: Document, lc: LineCounter, text: string, path: Path): Located {
  for (let len = path.length; len >= 0; len--) {
    const sub = path.slice(0, len);
    const node = sub.length === 0 ? doc.contents : doc.getIn(sub, true);
    if (isNode(node) && node.range) {
      const { line, col } = lc.linePos(node.range[0]);
      return { line, column: col, excerpt: excerptAt(text, line, col) };
    }
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

function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return JSON.stringify(v);
}

interface FlatIssue {
  path: PropertyKey[];
  message: string;
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
    if (issue.code === "invalid_value" || issue.code === "invalid_format")
      message += `, got ${describe(actual)}`;
    if (issue.code === "invalid_type" && actual === undefined)
      message = `missing required key (${issue.message})`;
    if (issue.code === "unrecognized_keys") {
      out.push({ path: [...path, issue.keys[0] ?? ""], message });
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
    const issues: RunbookIssue[] = doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      return {
        path: "",
        message: e.message.replace(/ at line \d+, column \d+:?[\s\S]*$/, ""),
        line: pos?.line ?? null,
        column: pos?.col ?? null,
        excerpt: pos ? excerptAt(text, pos.line, pos.col) : null,
      };
    });
    return {
      ok: false,
      error: new RunbookSyntaxError(source, `${source}: not valid YAML`, issues, { cause: doc.errors[0] }),
    };
  }

  const data: unknown = doc.toJS();
  const parsed = runbookSchema.safeParse(data);
  if (!parsed.success) {
    const issues = flatten(parsed.error.issues, [], data).map((f) => ({
      path: formatPath(f.path),
      message: f.message,
      ...locate(doc, lc, text, f.path as Path),
    }));
    return {
      ok: false,
      error: new RunbookSchemaError(
        source,
        `${source}: not a valid runbook (${issues.length} problem(s))`,
        issues,
        {
          cause: parsed.error,
        },
      ),
    };
  }

  const problems = checkReferences(parsed.data);
  if (problems.length > 0) {
    const issues = problems.map((p) => ({
      path: formatPath(p.path),
      message: p.message,
      ...locate(doc, lc, text, p.path),
    }));
    return {
      ok: false,
      error: new RunbookReferenceError(
        source,
        `${source}: unresolved references in the runbook (${issues.length} problem(s))`,
        issues,
      ),
    };
  }
  return { ok: true, value: parsed.data };
}
