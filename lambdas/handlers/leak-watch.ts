import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { GetCommandInvocationCommand, SSMClient } from "@aws-sdk/client-ssm";
import * as z from "zod";
import { watchSampleSchema } from "../core/forecast/sample.js";
import { type LeakWatchDeps, recordLeakWatchSample } from "../workflows/leak-watch-sample.js";
import { instrument, logger, metrics, tracer } from "./instrument.js";
import { parseEnv, parseInput } from "./parse.js";

/**
 * The scheduled leak watch's Lambda: EventBridge "EC2 Command Invocation Status-change Notification"
 * of the leak-watch document (status Success) → read the sample, forecast, publish EMF metrics per
 * instance (and the fleet's HoursToExhaustion for the alarm), notify within the horizon.
 */

const envSchema = z.object({
  AWS_REGION: z.string().default("us-east-1"),
  HISTORY_TABLE: z.string().min(1),
  TOPIC_ARN: z.string().min(1),
  WATCH_PORT: z.coerce.number().int().min(1).max(65535),
  HORIZON_HOURS: z.coerce.number().positive().default(24),
  MAX_SAMPLES: z.coerce.number().int().min(5).max(2000).default(288),
  SAMPLE_STEP: z.string().min(1).default("sample"),
});

const eventSchema = z.object({
  "detail-type": z.literal("EC2 Command Invocation Status-change Notification"),
  detail: z.object({
    "command-id": z.string().min(1),
    "instance-id": z.string().regex(/^i-[0-9a-f]{8,17}$/),
    status: z.string(),
  }),
});

const historyItemSchema = z.object({
  samples: z.array(watchSampleSchema),
  notifiedAt: z.string().nullable(),
});

function buildDeps(env: z.infer<typeof envSchema>): LeakWatchDeps {
  const ddb = tracer.captureAWSv3Client(new DynamoDBClient({ region: env.AWS_REGION }));
  const ssm = tracer.captureAWSv3Client(new SSMClient({ region: env.AWS_REGION }));
  const sns = tracer.captureAWSv3Client(new SNSClient({ region: env.AWS_REGION }));
  const key = (instanceId: string) => ({ pk: { S: `watch#${instanceId}` } });
  return {
    readStdout: async (commandId, instanceId) => {
      const out = await ssm.send(
        new GetCommandInvocationCommand({
          CommandId: commandId,
          InstanceId: instanceId,
          PluginName: env.SAMPLE_STEP,
        }),
      );
      return out.StandardOutputContent ?? "";
    },
    loadHistory: async (instanceId) => {
      const out = await ddb.send(
        new GetItemCommand({ TableName: env.HISTORY_TABLE, Key: key(instanceId), ConsistentRead: true }),
      );
      const raw = out.Item?.history?.S;
      if (!raw) return { samples: [], notifiedAt: null };
      const r = historyItemSchema.safeParse(JSON.parse(raw));
      if (!r.success) {
        logger.warn("unreadable watch history: starting again", {
          instanceId,
          issue: r.error.issues[0]?.message,
        });
        return { samples: [], notifiedAt: null };
      }
      return r.data;
    },
    saveHistory: async (instanceId, history) => {
      // Kept two days past the last sample: an instance that stops being watched leaves no row behind.
      const expiresAt = Math.floor(Date.now() / 1000) + 2 * 86_400;
      await ddb.send(
        new PutItemCommand({
          TableName: env.HISTORY_TABLE,
          Item: {
            ...key(instanceId),
            history: { S: JSON.stringify(history) },
            expiresAt: { N: String(expiresAt) },
          },
        }),
      );
    },
    publishMetrics: (instanceId, list) => {
      metrics.addDimension("InstanceId", instanceId);
      for (const m of list)
        metrics.addMetric(m.name, m.unit as (typeof MetricUnit)[keyof typeof MetricUnit], m.value);
      // The fleet series the alarm watches: the same value without the instance dimension.
      const fleet = list.find((m) => m.name === "HoursToExhaustion");
      if (fleet) metrics.singleMetric().addMetric("HoursToExhaustion", MetricUnit.NoUnit, fleet.value);
    },
    notify: async (notice) => {
      await sns.send(
        new PublishCommand({ TopicArn: env.TOPIC_ARN, Subject: notice.subject, Message: notice.message }),
      );
    },
    now: () => new Date(),
  };
}

let deps: LeakWatchDeps | null = null;

export const handler = instrument("LeakWatch", async (event: unknown) => {
  const env = parseEnv(envSchema);
  const detail = parseInput("LeakWatch", eventSchema, event).detail;
  deps ??= buildDeps(env);
  const r = await recordLeakWatchSample(
    deps,
    { port: env.WATCH_PORT, horizonHours: env.HORIZON_HOURS, maxSamples: env.MAX_SAMPLES },
    { commandId: detail["command-id"], instanceId: detail["instance-id"] },
  );
  logger.info("leak watch sample", {
    instanceId: r.instanceId,
    forecast: r.forecast.forecast,
    notified: r.notified,
  });
  return { instanceId: r.instanceId, status: r.forecast.forecast.status, notified: r.notified };
});
