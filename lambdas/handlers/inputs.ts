import { createHash } from "node:crypto";
import * as z from "zod";
import { normalizedAlarmSchema } from "../core/events/alarm-event.js";
import { modeSchema } from "../core/incident/schema.js";
import { InvalidEventError } from "./instrument.js";

/** Zod schemas for the state shapes the Lambdas exchange through Step Functions (small, key-based). */

export const instanceIdSchema = z.string().regex(/^i-[0-9a-f]{8,17}$/);
export const incidentIdSchema = z.string().regex(/^inc-[A-Za-z0-9-]{1,120}$/);

export const resolvedSchema = z.object({
  alarm: normalizedAlarmSchema,
  mode: modeSchema,
  dedupeKey: z.string().min(1),
  targets: z.array(instanceIdSchema),
  groupSize: z.number().int().nonnegative(),
});

export const sentCommandSchema = z.object({
  commandId: z.string().min(1),
  instanceId: instanceIdSchema,
  step: z.string().min(1),
  sentAt: z.iso.datetime({ offset: true }),
});

export const commandStatusSchema = z.enum([
  "Success",
  "Failed",
  "TimedOut",
  "Cancelled",
  "Undeliverable",
  "AccessDenied",
  "Terminated",
]);

export const probeOutputRefSchema = z.object({
  status: commandStatusSchema,
  exitCode: z.number().int().nullable(),
  stdoutKey: z.string().nullable(),
  stdoutTruncated: z.boolean(),
  outputUri: z.string().nullable(),
  rawOutputUri: z.string().nullable(),
  commandId: z.string().nullable(),
  detail: z.string().nullable(),
});

/** The probe loop's state: pending (Wait → poll again) or done with a result. */
export const probeStateSchema = z.discriminatedUnion("done", [
  z.object({
    done: z.literal(false),
    command: sentCommandSchema,
    attempt: z.number().int().nonnegative(),
    waitSeconds: z.number().int().positive(),
    status: z.string(),
  }),
  z.object({ done: z.literal(true), result: probeOutputRefSchema }),
]);
export type ProbeState = z.infer<typeof probeStateSchema>;

export const targetStepSchema = z.object({
  incidentId: incidentIdSchema,
  target: instanceIdSchema,
  mode: modeSchema,
});

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
): string {
  const lines: string[] = [];
  for (const issue of issues.slice(0, 8)) {
    const path = [...base, ...issue.path];
    if (issue.code === "invalid_union" && issue.errors.length) {
      const closest = [...issue.errors].sort((a, b) => a.length - b.length)[0] ?? [];
      lines.push(describeIssues(closest, input, path));
      continue;
    }
    const where = path.length ? path.map(String).join(".") : "(the event)";
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

/** Deterministic per alarm state change: a retried event maps to the same id. */
export function incidentIdFor(dedupeKey: string, stateChangeTime: string): string {
  const stamp = stateChangeTime.replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  const hash = createHash("sha256").update(dedupeKey).digest("hex").slice(0, 10);
  return `inc-${stamp}-${hash}`;
}
