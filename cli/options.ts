import type { Command } from "commander";
import * as z from "zod";
import { UsageError } from "./errors.js";

/** Options of `diagnose` and `run`, validated with zod at the CLI boundary. */

export const targetSchema = z
  .string()
  .regex(
    /^(local|ssm:i-[0-9a-f]{8,17})$/,
    "expected `local` or `ssm:i-<instance id>` (e.g. ssm:i-0123456789abcdef0)",
  );

/**
 * A whole number written in decimal digits, within [min, max]. Number() would also take hex
 * (`0x1f90`), exponents (`8e3`), signs and padding (` 8080`); none of that is a port or a count here.
 */
export function decimalInt(what: string, min: number, max: number) {
  return z
    .string({ message: `expected ${what}` })
    .regex(/^[0-9]{1,10}$/, `expected ${what} in decimal digits`)
    .transform(Number)
    .pipe(z.number().min(min, `expected ${what} ${min}-${max}`).max(max, `expected ${what} ${min}-${max}`));
}

const portSchema = decimalInt("a TCP port", 1, 65_535);

export const targetOptionsSchema = z.object({
  target: targetSchema.default("local"),
  port: portSchema,
  pid: decimalInt("a process id", 1, 4_194_304).optional(),
  healthPath: z
    .string()
    .regex(/^\/[A-Za-z0-9._~/-]{0,200}$/, "expected a path like /health")
    .default("/health"),
  logPath: z
    .string()
    .regex(/^\/[A-Za-z0-9._/-]{1,300}$/, "expected an absolute path of [A-Za-z0-9._/-]")
    .optional(),
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "expected an AWS region like eu-west-1")
    .optional(),
  bucket: z.string().optional(),
  /** One notion of "idle" for the probe's count and the kill rung: seconds without a byte received. */
  idleThresholdSeconds: decimalInt("whole seconds", 1, 86_400).optional(),
  /** Overrides of named runbook thresholds, `name=value`. */
  threshold: z
    .array(
      z
        .string()
        .regex(
          /^[A-Za-z][A-Za-z0-9]*=\d{1,12}(\.\d{1,6})?$/,
          "expected name=number, e.g. httpKeepAliveMs=20000",
        ),
    )
    .default([]),
});

export const diagnoseOptionsSchema = targetOptionsSchema.extend({
  output: z.enum(["json", "text"]).default("text"),
  runbook: z.string().default("api-unreachable"),
  service: z
    .string()
    .regex(/^[A-Za-z0-9@._:-]{1,128}$/, "expected a systemd unit name")
    .optional(),
});
export type DiagnoseOptions = z.infer<typeof diagnoseOptionsSchema>;

export const runOptionsSchema = targetOptionsSchema
  .extend({
    runbook: z.string().regex(/^[a-z][a-z0-9-]*$/, "expected a runbook id like api-unreachable"),
    mode: z.enum(["plan", "approve", "auto"]).optional(),
    out: z.string().min(1).default("incidents"),
    restartCommand: z.string().min(1).optional(),
    service: z
      .string()
      .regex(/^[A-Za-z0-9@._:-]{1,128}$/, "expected a systemd unit name")
      .optional(),
    output: z.enum(["json", "text"]).default("text"),
    postmortem: z.boolean().default(true),
  })
  .refine((o) => !(o.restartCommand && o.service), {
    message: "give --service or --restart-command, not both",
    path: ["service"],
  });
export type RunOptionsCli = z.infer<typeof runOptionsSchema>;

const FLAG: Record<string, string> = {
  idleThresholdSeconds: "--idle-threshold-seconds",
  healthPath: "--health-path",
  logPath: "--log-path",
  restartCommand: "--restart-command",
};

/** Parses options; a failure becomes one line naming the option, what was expected and what was given. */
export function parseOptions<T extends z.ZodTypeAny>(schema: T, raw: Record<string, unknown>): z.infer<T> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const key = String(issue?.path[0] ?? "");
  const flag = FLAG[key] ?? `--${key}`;
  const given = raw[key];
  const shown = given === undefined ? "nothing" : `'${String(given).slice(0, 60)}'`;
  throw new UsageError(`${flag}: ${issue?.message ?? "invalid"} (got ${shown})`);
}

/** The options `diagnose` and `run` share: where the service is, and how to read the runbook. */
export function addTargetOptions(cmd: Command): Command {
  return cmd
    .option("--target <target>", "local, or ssm:i-<instance id>", "local")
    .requiredOption("--port <port>", "the application's TCP port")
    .option("--pid <pid>", "the JVM's PID (default: the process listening on the port)")
    .option("--health-path <path>", "health endpoint path", "/health")
    .option("--log-path <path>", "application log to scan for 'Too many open files' and OutOfMemoryError")
    .option("--output <format>", "json or text", "text")
    .option(
      "--idle-threshold-seconds <n>",
      "a socket with no byte received for this long counts as idle (probe) and may be killed (run); default from the runbook",
    )
    .option(
      "--threshold <name=value>",
      "override a named runbook threshold, e.g. httpKeepAliveMs=20000 (repeatable)",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option("--region <region>", "AWS region for ssm: targets")
    .option("--bucket <bucket>", "S3 bucket for SSM's full output (ssm: targets)");
}
