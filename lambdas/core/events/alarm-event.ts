import { z } from "zod";
import { modeSchema } from "../incident/schema.js";

/**
 * CloudWatch alarm state changes, in the two shapes they reach us, and the one normalised
 * state machine input both become. Pure: parsing and reshaping only.
 */

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

/** One alarm state change, whichever way it arrived. */
export const normalizedAlarmSchema = z.object({
  via: z.enum(["eventbridge", "sns"]),
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
});
export type NormalizedAlarm = z.infer<typeof normalizedAlarmSchema>;

/**
 * The state machine input: the raw EventBridge event (rule target, no transformer) or the
 * normalised alarm the SNS ingest function starts the execution with. `mode` overrides the default.
 */
export const stateMachineInputSchema = z.union([
  eventBridgeAlarmEventSchema,
  z.object({ alarm: normalizedAlarmSchema, mode: modeSchema.optional() }),
]);
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

/** Accepts either state machine input shape and returns the normalised alarm plus any mode override. */
export function normalizeStateMachineInput(input: StateMachineInput): {
  alarm: NormalizedAlarm;
  mode: z.infer<typeof modeSchema> | null;
} {
  if ("alarm" in input) return { alarm: input.alarm, mode: input.mode ?? null };
  return { alarm: normalizeEventBridgeAlarm(input), mode: null };
}

/** The idempotency key: one incident per alarm per state change, whichever path delivered it. */
export function dedupeKeyOf(alarm: Pick<NormalizedAlarm, "alarmName" | "stateChangeTime">): string {
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
