import { type Document, isMap, isNode, isScalar, LineCounter, parseDocument } from "yaml";
import { checkRunbookData, formatPath, type Result } from "./check.js";
import {
  type RunbookError,
  type RunbookIssue,
  RunbookReferenceError,
  RunbookSchemaError,
  RunbookSyntaxError,
} from "./errors.js";
import type { Path } from "./references.js";
import type { Runbook } from "./schema.js";

/** Validation of parsed data lives in check.ts (no YAML); re-exported for the callers of this module. */
export { checkRunbookData, formatPath, type Result, type RunbookDataProblems } from "./check.js";

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
