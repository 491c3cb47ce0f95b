import * as z from "zod";
import { settingsEnvSchema } from "../core/settings/run-settings.js";
import type { Clock } from "../ports/index.js";
import { tracer } from "./instrument.js";
import { describeIssues, parseEnv } from "./parse.js";

/**
 * The Lambda composition root: configuration from the environment (set by lib/api-unreachable-runbook.ts),
 * one SDK client per service (X-Ray captured, created on first use), adapters built once per container.
 * This module holds what every handler shares (the environment, the clock, the client cache) and imports
 * no SDK client: each service's client and adapters sit in a module of their own (wiring-ssm.ts,
 * wiring-s3.ts, wiring-dynamo.ts, wiring-sns.ts, wiring-sfn.ts, wiring-elb.ts; wiring-targets.ts: EC2 and
 * CloudWatch), and a handler imports those of the services it calls, so that its bundle imports only
 * those SDK packages: loading them is most of a cold start (bench 8). workflow-wiring.ts composes the
 * four the workflow steps take; test/unit/lambda-bundles.test.ts asserts each handler's set.
 */

const tagSchema = z.object({ key: z.string().min(1), value: z.string() });
const documentRefSchema = z.object({
  documentName: z.string().min(1),
  step: z.string().min(1),
  script: z.string().min(1).optional(),
});

/**
 * A variable holding JSON of `schema`: malformed JSON or a value of the wrong shape is an issue at that
 * variable, described on one line, never an exception out of the parse. `empty`: what "" stands for
 * (the construct writes "" for an unset optional value); without it "" is malformed.
 */
function jsonEnv<T extends z.ZodType, E = never>(schema: T, empty?: { value: E }) {
  return z.string().transform((s, ctx): z.output<T> | E => {
    if (s === "" && empty) return empty.value;
    let value: unknown;
    try {
      value = JSON.parse(s);
    } catch (e) {
      ctx.addIssue({ code: "custom", message: `expected JSON (${(e as Error).message})` });
      return z.NEVER;
    }
    const r = schema.safeParse(value);
    if (!r.success) {
      ctx.addIssue({
        code: "custom",
        message: `in its JSON, ${describeIssues(r.error.issues, value, [], "(the value)")}`,
      });
      return z.NEVER;
    }
    return r.data;
  });
}

export const handlerEnvSchema = z.object({
  AWS_REGION: z.string().default("us-east-1"),
  ARTIFACT_BUCKET: z.string().min(1),
  INCIDENT_TABLE: z.string().min(1),
  TOPIC_ARN: z.string().min(1),
  /** `{"probe":{"documentName":"...","step":"probe"},"kill-idle-connections":{...}}` */
  SSM_DOCUMENTS: jsonEnv(z.record(z.string(), documentRefSchema)),
  SSM_OUTPUT_PREFIX: z.string().default("ssm"),
  OPT_IN_TAG: jsonEnv(tagSchema),
  /** Tag used to find targets when the alarm has no instance/target-group dimension ("" = none). */
  FALLBACK_TAG: z
    .string()
    .default("")
    .pipe(jsonEnv(tagSchema, { value: null })),
  /** Only alarms carrying this tag start an incident ("" = every alarm the rule/prefixes let in). */
  ALARM_SELECTION_TAG: z
    .string()
    .default("")
    .pipe(jsonEnv(tagSchema, { value: null })),
  FLEET_BRAKE_SHARE: z.coerce.number().positive().max(1).default(0.5),
  /** Target groups the fleet brake checks besides the alarm's own (per-instance alarms), a JSON array of ARNs. */
  FLEET_TARGET_GROUPS: z
    .string()
    .default("[]")
    .pipe(jsonEnv(z.array(z.string().startsWith("arn:")), { value: [] })),
  /** Healthy targets the brake keeps untouched in each group. */
  FLEET_MIN_HEALTHY: z.coerce.number().int().nonnegative().default(1),
  /** At most this many targets mitigated per target group and class per window, across executions. */
  FLEET_BUDGET: z.coerce.number().int().positive().default(3),
  FLEET_BUDGET_WINDOW_SECONDS: z.coerce.number().int().positive().default(3600),
  MAX_TARGETS: z.coerce.number().int().positive().default(20),
  SERVICE: jsonEnv(
    z.object({
      port: z.number().int().min(1).max(65535),
      healthPath: z.string(),
      logPath: z.string().nullable(),
      systemdUnit: z.string().nullable(),
    }),
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
    .pipe(jsonEnv(z.array(z.string().min(1)), { value: [] })),
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
  cachedEnv ??= parseEnv(handlerEnvSchema);
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
