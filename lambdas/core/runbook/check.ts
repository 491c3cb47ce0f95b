import type * as z from "zod";
import { describeValue as describe, expectedOneOf } from "./expected.js";
import { checkReferences } from "./references.js";
import { type Runbook, runbookSchema } from "./schema.js";

/**
 * Validating runbook data already parsed (from YAML by load.ts, or the JSON a Lambda bundle carries:
 * lambdas/workflows/bundled-runbook.ts). No YAML here: the Lambda bundles that read the JSON leave the
 * yaml package out.
 */

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
