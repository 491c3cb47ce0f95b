import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { DescribeInstanceInformationCommand, SSMClient } from "@aws-sdk/client-ssm";
import * as z from "zod";
import { DynamoIncidentStore } from "../adapters/aws/dynamo-incident-store.js";
import { DynamoFleetBudget } from "../adapters/aws/fleet-budget.js";
import { S3ArtifactStore } from "../adapters/aws/s3-artifact-store.js";
import { SsmCommandRunner } from "../adapters/aws/ssm-command-runner.js";
import type { AgentInfo } from "../core/events/resolve-targets.js";
import { settingsEnvSchema } from "../core/settings/run-settings.js";
import type { Clock } from "../ports/index.js";
import { tracer } from "./instrument.js";

/**
 * The Lambda composition root: configuration from the environment (set by lib/api-unreachable-runbook.ts),
 * one SDK client per service (X-Ray captured), adapters built once per container. The clients of the
 * services most steps use (SSM, S3, DynamoDB, SNS) are here; the others sit in their own modules
 * (wiring-targets.ts: EC2 and CloudWatch; wiring-elb.ts: ELBv2; wiring-sfn.ts: Step Functions) so that a handler's bundle
 * imports only the SDK clients it calls: loading EC2's client alone is most of a cold start.
 */

const tagSchema = z.object({ key: z.string().min(1), value: z.string() });
const documentRefSchema = z.object({
  documentName: z.string().min(1),
  step: z.string().min(1),
  script: z.string().min(1).optional(),
});

export const handlerEnvSchema = z.object({
  AWS_REGION: z.string().default("us-east-1"),
  ARTIFACT_BUCKET: z.string().min(1),
  INCIDENT_TABLE: z.string().min(1),
  TOPIC_ARN: z.string().min(1),
  /** `{"probe":{"documentName":"...","step":"probe"},"kill-idle-connections":{...}}` */
  SSM_DOCUMENTS: z.string().transform((s, ctx) => {
    const r = z.record(z.string(), documentRefSchema).safeParse(JSON.parse(s));
    if (!r.success) {
      ctx.addIssue({ code: "custom", message: `SSM_DOCUMENTS: ${r.error.message}` });
      return z.NEVER;
    }
    return r.data;
  }),
  SSM_OUTPUT_PREFIX: z.string().default("ssm"),
  OPT_IN_TAG: z.string().transform((s) => tagSchema.parse(JSON.parse(s))),
  /** Tag used to find targets when the alarm has no instance/target-group dimension ("" = none). */
  FALLBACK_TAG: z
    .string()
    .default("")
    .transform((s) => (s ? tagSchema.parse(JSON.parse(s)) : null)),
  /** Only alarms carrying this tag start an incident ("" = every alarm the rule/prefixes let in). */
  ALARM_SELECTION_TAG: z
    .string()
    .default("")
    .transform((s) => (s ? tagSchema.parse(JSON.parse(s)) : null)),
  FLEET_BRAKE_SHARE: z.coerce.number().positive().max(1).default(0.5),
  /** Target groups the fleet brake checks besides the alarm's own (per-instance alarms), a JSON array of ARNs. */
  FLEET_TARGET_GROUPS: z
    .string()
    .default("[]")
    .transform((s) => z.array(z.string().startsWith("arn:")).parse(JSON.parse(s || "[]"))),
  /** Healthy targets the brake keeps untouched in each group. */
  FLEET_MIN_HEALTHY: z.coerce.number().int().nonnegative().default(1),
  /** At most this many targets mitigated per target group and class per window, across executions. */
  FLEET_BUDGET: z.coerce.number().int().positive().default(3),
  FLEET_BUDGET_WINDOW_SECONDS: z.coerce.number().int().positive().default(3600),
  MAX_TARGETS: z.coerce.number().int().positive().default(20),
  SERVICE: z.string().transform((s) =>
    z
      .object({
        port: z.number().int().min(1).max(65535),
        healthPath: z.string(),
        logPath: z.string().nullable(),
        systemdUnit: z.string().nullable(),
      })
      .parse(JSON.parse(s)),
  ),
  /**
   * Bounds of SSM polling: how long an invocation may stay invisible (`InvocationDoesNotExist`) before it
   * counts as undeliverable, and the reporting lag allowed past a command's own time-out. Unset: the
   * probe loop's 90 s / 120 s and the action runner's 60 s / 60 s.
   */
  SSM_APPEAR_WITHIN_SECONDS: z.coerce.number().int().min(1).max(3600).optional(),
  SSM_GRACE_SECONDS: z.coerce.number().int().min(1).max(3600).optional(),
  /** Host folder for the probe's raw outputs (the `raw` step ships them to S3). "" = none. */
  PROBE_RAW_DIR: z.string().default("/var/tmp/runbook-autopilot"),
  STATE_MACHINE_ARN: z.string().default(""),
  /** How long a per-rung approval request waits (the construct's `approvalTimeout`). */
  APPROVAL_TIMEOUT_SECONDS: z.coerce.number().int().positive().default(3600),
  ALARM_NAME_PREFIXES: z
    .string()
    .default("")
    .transform((s) => s.split(",").filter((p) => p.length > 0)),
  /** Exact alarm names selected besides the prefixes (the construct's `alarms`), a JSON array. */
  ALARM_NAMES: z
    .string()
    .default("[]")
    .transform((s) => z.array(z.string().min(1)).parse(JSON.parse(s || "[]"))),
  /**
   * The run settings the construct resolved from the runbook and its props (DEFAULT_MODE,
   * COOLDOWN_SECONDS, PROBE_TIMEOUT_SECONDS: lambdas/core/settings/run-settings.ts). Required: the
   * runbook is their one home, never a default here.
   */
  ...settingsEnvSchema.required().shape,
});
export type HandlerEnv = z.infer<typeof handlerEnvSchema>;

let cachedEnv: HandlerEnv | null = null;
export function env(): HandlerEnv {
  cachedEnv ??= handlerEnvSchema.parse(process.env);
  return cachedEnv;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

const clients = new Map<string, unknown>();
/**
 * Called with every SDK client this container creates, before its first use. Empty in Lambda; the
 * local end-to-end tests add middleware through it to record each call (the IAM evaluation test).
 */
export const clientObservers: ((client: object) => void)[] = [];
export function client<T extends object>(key: string, make: () => T): T {
  let c = clients.get(key) as T | undefined;
  if (!c) {
    c = tracer.captureAWSv3Client(make());
    for (const observe of clientObservers) observe(c);
    clients.set(key, c);
  }
  return c;
}

export const ssmClient = () => client("ssm", () => new SSMClient({ region: env().AWS_REGION }));
export const s3Client = () => client("s3", () => new S3Client({ region: env().AWS_REGION }));
export const ddbClient = () => client("ddb", () => new DynamoDBClient({ region: env().AWS_REGION }));
export const snsClient = () => client("sns", () => new SNSClient({ region: env().AWS_REGION }));

export function commandRunner(clock: Clock = systemClock): SsmCommandRunner {
  const e = env();
  return new SsmCommandRunner({
    client: ssmClient(),
    clock,
    documents: e.SSM_DOCUMENTS,
    outputBucket: e.ARTIFACT_BUCKET,
    outputKeyPrefix: e.SSM_OUTPUT_PREFIX,
    poll: {
      ...(e.SSM_APPEAR_WITHIN_SECONDS ? { appearWithinMs: e.SSM_APPEAR_WITHIN_SECONDS * 1000 } : {}),
      ...(e.SSM_GRACE_SECONDS ? { graceMs: e.SSM_GRACE_SECONDS * 1000 } : {}),
    },
  });
}

/** Artifacts live under `incidents/` in the bucket; SSM's own output under `ssm/`. */
export const artifactStore = () =>
  new S3ArtifactStore({ client: s3Client(), bucket: env().ARTIFACT_BUCKET, keyPrefix: "incidents/" });
export const incidentStore = () =>
  new DynamoIncidentStore({ client: ddbClient(), tableName: env().INCIDENT_TABLE });

export const fleetBudget = () => new DynamoFleetBudget(ddbClient(), env().INCIDENT_TABLE);

/** SSM's view of the instances: agent version and ping status (DescribeInstanceInformation, ≤ 50 ids per call). */
export async function agentInfo(ids: readonly string[]): Promise<AgentInfo[]> {
  const out: AgentInfo[] = [];
  for (let i = 0; i < ids.length; i += 50) {
    let token: string | undefined;
    do {
      const page = await ssmClient().send(
        new DescribeInstanceInformationCommand({
          Filters: [{ Key: "InstanceIds", Values: ids.slice(i, i + 50) }],
          NextToken: token,
        }),
      );
      for (const x of page?.InstanceInformationList ?? [])
        if (x.InstanceId)
          out.push({
            id: x.InstanceId,
            agentVersion: x.AgentVersion ?? null,
            pingStatus: x.PingStatus ?? null,
          });
      token = page?.NextToken;
    } while (token);
  }
  return out;
}

export async function notify(subject: string, message: string): Promise<string[]> {
  await snsClient().send(
    new PublishCommand({ TopicArn: env().TOPIC_ARN, Subject: subject.slice(0, 100), Message: message }),
  );
  return [env().TOPIC_ARN];
}
