import * as z from "zod";
import { InvalidEnvironmentError, InvalidEventError } from "./instrument.js";

/**
 * Parsing at the Lambdas' two boundaries, the event and the function's environment, with one-line
 * errors that name each field, what it should be and what it was. Its own small module: every handler
 * imports it, so it brings in nothing beyond zod and the two error classes (instrument.ts).
 */

export function parseInput<T extends z.ZodType>(step: string, schema: T, event: unknown): z.infer<T> {
  const r = schema.safeParse(event);
  if (!r.success) throw new InvalidEventError(step, describeIssues(r.error.issues, event));
  return r.data;
}

/**
 * One line per problem: the field's path in the event, what was expected, and what was given
 * (`target: expected an EC2 instance id matching /^i-.../, got "i-zz"`). A union names the
 * alternative that came closest rather than a bare "Invalid input".
 */
export function describeIssues(
  issues: readonly z.core.$ZodIssue[],
  input: unknown,
  base: PropertyKey[] = [],
  /** How a problem with the input as a whole is named. */
  whole = "(the event)",
): string {
  const lines: string[] = [];
  for (const issue of issues.slice(0, 8)) {
    const path = [...base, ...issue.path];
    if (issue.code === "invalid_union" && issue.errors.length) {
      const closest = [...issue.errors].sort((a, b) => a.length - b.length)[0] ?? [];
      lines.push(describeIssues(closest, input, path, whole));
      continue;
    }
    const where = path.length ? path.map(String).join(".") : whole;
    const given = valueAt(input, path);
    const shown = given === undefined ? "nothing" : JSON.stringify(given)?.slice(0, 60);
    lines.push(`${where}: ${expectation(issue)}, got ${shown}`);
  }
  if (issues.length > 8) lines.push(`… and ${issues.length - 8} more`);
  return lines.join("; ");
}

function expectation(issue: z.core.$ZodIssue): string {
  // A schema's own message (".regex(re, 'not an EC2 instance id')") says it best.
  if (!/^Invalid /.test(issue.message)) return issue.message;
  switch (issue.code) {
    case "invalid_type":
      return `expected ${issue.expected}`;
    case "invalid_value":
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "invalid_format":
      return issue.format === "regex" && "pattern" in issue
        ? `expected a string matching ${issue.pattern}`
        : `expected ${issue.format}`;
    case "unrecognized_keys":
      return `unexpected field(s) ${issue.keys.join(", ")}`;
    default:
      return issue.message.replace(/^Invalid input: /, "").replace(/^Invalid string: /, "");
  }
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const key of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/** The function's environment (set by the construct) checked against `schema`; one line per bad variable. */
export function parseEnv<T extends z.ZodType>(
  schema: T,
  source: NodeJS.ProcessEnv = process.env,
): z.infer<T> {
  return fromEnv(() => schema.parse(source), source);
}

/**
 * `read()` of a value derived from the environment (a schema's parse, or a pure function's such as
 * settingsFromEnv): its ZodError becomes the one-line InvalidEnvironmentError naming the variables. The
 * one place that turns an environment's ZodError into that error.
 */
export function fromEnv<T>(read: () => T, source: NodeJS.ProcessEnv = process.env): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof z.ZodError) throw new InvalidEnvironmentError(describeIssues(e.issues, source));
    throw e;
  }
}
