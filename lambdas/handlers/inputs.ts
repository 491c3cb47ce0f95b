import { createHash } from "node:crypto";
import * as z from "zod";
import { normalizedAlarmSchema } from "../core/events/alarm-event.js";
import { modeSchema } from "../core/incident/schema.js";

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

/** Deterministic per alarm state change: a retried event maps to the same id. */
export function incidentIdFor(dedupeKey: string, stateChangeTime: string): string {
  const stamp = stateChangeTime.replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  const hash = createHash("sha256").update(dedupeKey).digest("hex").slice(0, 10);
  return `inc-${stamp}-${hash}`;
}
