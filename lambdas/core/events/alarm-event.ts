import * as z from "zod";
import { modeSchema } from "../incident/schema.js";

/**
 * CloudWatch alarm state changes, in the two shapes they reach us, and the one normalised
 * state machine input both become. Pure: parsing and reshaping only.
 */

export const INSTANCE_ID_PATTERN = /^i-[0-9a-f]{8,17}$/;

/** Dimensions in their normalised form: an ordered list of name/value pairs. */
export const dimensionSchema = z.object({ name: z.string().min(1), value: z.string() });
export type Dimension = z.infer<typeof dimensionSchema>;

/**
 * CloudWatch writes `2019-10-02T17:04:40.989+0000`; zod's ISO check wants `+00:00`.
 * Accept both and normalise to `Date#toISOString()` so both delivery paths give one dedupe key.
 */
export const alarmTimestampSchema = z
  .string()
  .refine((s) => !Number.isNaN(Date.parse(s)), { message: "not a timestamp" })
  .transform((s) => new Date(s).toISOString());

const metricStatSchema = z.object({
  metric: z.object({
    namespace: z.string().optional(),
    name: z.string().optional(),
    dimensions: z.record(z.string(), z.string()).optional(),
  }),
});

/** EventBridge form: `source: aws.cloudwatch`, `detail-type: CloudWatch Alarm State Change`. */
export const eventBridgeAlarmEventSchema = z.object({
  version: z.string().optional(),
  id: z.string().optional(),
  "detail-type": z.literal("CloudWatch Alarm State Change"),
  source: z.literal("aws.cloudwatch"),
  account: z.string(),
  time: z.string().optional(),
  region: z.string(),
  resources: z.array(z.string()).default([]),
  detail: z.object({
    alarmName: z.string().min(1),
    state: z.object({
      value: z.string(),
      reason: z.string().default(""),
      timestamp: alarmTimestampSchema,
    }),
    previousState: z.object({ value: z.string() }).partial().optional(),
    configuration: z
      .object({
        description: z.string().nullish(),
        metrics: z
          .array(
            z.object({
              id: z.string().optional(),
              metricStat: metricStatSchema.optional(),
            }),
          )
          .optional(),
      })
      .optional(),
  }),
});
export type EventBridgeAlarmEvent = z.infer<typeof eventBridgeAlarmEventSchema>;

/** The JSON document inside an SNS alarm notification's `Message`. `Dimensions` is a list of {name,value}. */
export const snsAlarmMessageSchema = z.object({
  AlarmName: z.string().min(1),
  AlarmArn: z.string().optional(),
  AWSAccountId: z.string().optional(),
  NewStateValue: z.string(),
  NewStateReason: z.string().default(""),
  StateChangeTime: alarmTimestampSchema,
  Region: z.string().optional(),
  Trigger: z
    .object({
      MetricName: z.string().nullish(),
      Namespace: z.string().nullish(),
      Dimensions: z.array(dimensionSchema).nullish(),
    })
    .optional(),
});
export type SnsAlarmMessage = z.infer<typeof snsAlarmMessageSchema>;

/** The SNS → Lambda event envelope (only what we read). */
export const snsEventSchema = z.object({
  Records: z
    .array(
      z.object({
        Sns: z.object({
          Message: z.string(),
          MessageId: z.string().optional(),
          TopicArn: z.string().optional(),
        }),
      }),
    )
    .min(1),
});

/** One alarm state change, whichever way it arrived (or the synthetic trigger of a manual start). */
export const normalizedAlarmSchema = z.object({
  via: z.enum(["eventbridge", "sns", "manual"]),
  alarmName: z.string().min(1),
  alarmArn: z.string().nullable(),
  account: z.string().nullable(),
  /** Region code (`eu-west-1`); null when only SNS's display name was given and no ARN. */
  region: z.string().nullable(),
  state: z.string(),
  /** ISO 8601, UTC, milliseconds: the state-change time, the second half of the dedupe key. */
  stateChangeTime: z.iso.datetime({ offset: true }),
  reason: z.string(),
  namespace: z.string().nullable(),
  metricName: z.string().nullable(),
  dimensions: z.array(dimensionSchema),
  /** Manual starts only: who asked (as the caller says; CloudTrail has the IAM principal). */
  requestedBy: z.string().optional(),
  /** Manual starts only: the request id the dedupe key is made of (given, or a fresh UUID). */
  requestId: z.string().optional(),
});
export type NormalizedAlarm = z.infer<typeof normalizedAlarmSchema>;

/** The construct's default `maxTargets`: the cap on instances a manual start may name. */
export const DEFAULT_MAX_TARGETS = 20;

/** Letters, digits, `-` and `_`, up to 80: the characters a Step Functions execution name allows. */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9_-]{1,80}$/;
/** An IAM-user-name-like requester: it ends up in the synthetic alarm name and in notifications. */
export const REQUESTED_BY_PATTERN = /^[A-Za-z0-9._@+=,-]{1,64}$/;

/**
 * Manual start: run the runbook on named instances, no alarm involved.
 * `aws stepfunctions start-execution --input '{"instances":["i-0123456789abcdef0"],"mode":"plan"}'`.
 * Unknown keys are refused (a typo such as `instance` must not silently mean something else).
 */
export function manualStartSchemaFor(maxTargets: number) {
  return z.strictObject({
    instances: z
      .array(
        z.string().regex(INSTANCE_ID_PATTERN, { message: "not an EC2 instance id (i-0123456789abcdef0)" }),
      )
      .min(1, { message: "name at least one instance" })
      .max(maxTargets, { message: `at most ${maxTargets} instances per start (the construct's maxTargets)` })
      .transform((ids) => [...new Set(ids)]),
    mode: modeSchema.optional(),
    reason: z
      .string()
      .max(1000)
      .refine((s) => ![...s].some((c) => isControl(c.charCodeAt(0))), { message: "no control characters" })
      .optional(),
    requestedBy: z
      .string()
      .regex(REQUESTED_BY_PATTERN, { message: "letters, digits and ._@+=,- only, up to 64" })
      .optional(),
    /** Makes a retried start a duplicate: same requestId → same dedupe key → one incident. */
    requestId: z
      .string()
      .regex(REQUEST_ID_PATTERN, { message: "letters, digits, - and _ only, up to 80" })
      .optional(),
  });
}
export const manualStartSchema = manualStartSchemaFor(DEFAULT_MAX_TARGETS);
export type ManualStart = z.infer<typeof manualStartSchema>;

const isControl = (code: number) => (code < 0x20 && code !== 0x09 && code !== 0x0a) || code === 0x7f;

/** Whether a raw state machine input is meant as a manual start (parsed with the manual schema only). */
export function isManualStart(input: unknown): boolean {
  return typeof input === "object" && input !== null && "instances" in input;
}

/**
 * The synthetic normalised trigger of a manual start. The state-change time is the start time; the
 * instances are recorded as `InstanceId` dimensions (what was asked), and the dedupe key is made of
 * the request id (see `dedupeKeyOf`). Pure: the caller gives the clock and the fallback request id.
 */
export function normalizeManualStart(
  input: ManualStart,
  context: { now: string; newRequestId: () => string; region: string | null },
): NormalizedAlarm {
  const requestedBy = input.requestedBy ?? "unspecified";
  return {
    via: "manual",
    alarmName: `manual:${requestedBy}`,
    alarmArn: null,
    account: null,
    region: context.region,
    state: "MANUAL",
    stateChangeTime: new Date(context.now).toISOString(),
    reason: input.reason ?? `manual start by ${requestedBy}`,
    namespace: null,
    metricName: null,
    dimensions: input.instances.map((value) => ({ name: "InstanceId", value })),
    requestedBy,
    requestId: input.requestId ?? context.newRequestId(),
  };
}

/**
 * The state machine input: the raw EventBridge event (rule target, no transformer), the normalised
 * alarm the SNS ingest function starts the execution with, or a manual start naming instances (at most
 * `maxTargets`). `mode` overrides the default.
 */
export function stateMachineInputSchemaFor(maxTargets: number) {
  return z.union([
    eventBridgeAlarmEventSchema,
    z.object({ alarm: normalizedAlarmSchema, mode: modeSchema.optional() }),
    manualStartSchemaFor(maxTargets),
  ]);
}
export const stateMachineInputSchema = stateMachineInputSchemaFor(DEFAULT_MAX_TARGETS);
export type StateMachineInput = z.infer<typeof stateMachineInputSchema>;

export function normalizeEventBridgeAlarm(event: EventBridgeAlarmEvent): NormalizedAlarm {
  const metrics = event.detail.configuration?.metrics ?? [];
  const first = metrics.find((m) => m.metricStat !== undefined)?.metricStat?.metric;
  const dimensions: Dimension[] = [];
  for (const m of metrics) {
    for (const [name, value] of Object.entries(m.metricStat?.metric.dimensions ?? {})) {
      if (!dimensions.some((d) => d.name === name && d.value === value)) dimensions.push({ name, value });
    }
  }
  return {
    via: "eventbridge",
    alarmName: event.detail.alarmName,
    alarmArn: event.resources[0] ?? null,
    account: event.account,
    region: event.region,
    state: event.detail.state.value,
    stateChangeTime: event.detail.state.timestamp,
    reason: event.detail.state.reason,
    namespace: first?.namespace ?? null,
    metricName: first?.name ?? null,
    dimensions,
  };
}

export function normalizeSnsAlarm(message: SnsAlarmMessage): NormalizedAlarm {
  const arn = message.AlarmArn ? parseArn(message.AlarmArn) : null;
  return {
    via: "sns",
    alarmName: message.AlarmName,
    alarmArn: message.AlarmArn ?? null,
    account: message.AWSAccountId ?? arn?.account ?? null,
    region: arn?.region ?? null,
    state: message.NewStateValue,
    stateChangeTime: message.StateChangeTime,
    reason: message.NewStateReason,
    namespace: message.Trigger?.Namespace ?? null,
    metricName: message.Trigger?.MetricName ?? null,
    dimensions: message.Trigger?.Dimensions ?? [],
  };
}

/**
 * Accepts any state machine input shape and returns the normalised alarm plus any mode override;
 * for a manual start also the instances it names (`manual`).
 */
export function normalizeStateMachineInput(
  input: StateMachineInput,
  context: { now: string; newRequestId: () => string; region: string | null } = {
    now: new Date().toISOString(),
    newRequestId: () => crypto.randomUUID(),
    region: null,
  },
): {
  alarm: NormalizedAlarm;
  mode: z.infer<typeof modeSchema> | null;
  manual?: { instances: string[] };
} {
  if ("instances" in input)
    return {
      alarm: normalizeManualStart(input, context),
      mode: input.mode ?? null,
      manual: { instances: input.instances },
    };
  if ("alarm" in input) return { alarm: input.alarm, mode: input.mode ?? null };
  return { alarm: normalizeEventBridgeAlarm(input), mode: null };
}

/**
 * The idempotency key: one incident per alarm per state change, whichever path delivered it.
 * A manual start: one incident per request id (`manual#<requestId>`), so a retried start with the
 * same requestId is a duplicate and two starts without one are two incidents.
 */
export function dedupeKeyOf(
  alarm: Pick<NormalizedAlarm, "alarmName" | "stateChangeTime"> &
    Partial<Pick<NormalizedAlarm, "via" | "requestId">>,
): string {
  if (alarm.via === "manual" && alarm.requestId) return `manual#${alarm.requestId}`;
  return `${alarm.alarmName}#${alarm.stateChangeTime}`;
}

export interface ParsedArn {
  readonly partition: string;
  readonly service: string;
  readonly region: string;
  readonly account: string;
  readonly resource: string;
}

export function parseArn(arn: string): ParsedArn | null {
  const parts = arn.split(":");
  if (parts.length < 6 || parts[0] !== "arn") return null;
  const [, partition, service, region, account] = parts as [string, string, string, string, string];
  return { partition, service, region, account, resource: parts.slice(5).join(":") };
}
