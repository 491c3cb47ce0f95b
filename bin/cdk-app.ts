import { App, Duration, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import * as z from "zod";
import { RunbookStack } from "../lib/runbook-stack.js";

/**
 * The CDK app. Configuration from cdk.json context (or `-c key=value`); no lookups, no account/region
 * pinned, so `npx cdk synth` works offline on a fresh clone.
 */
const app = new App();
const tag = z.object({ key: z.string().min(1), value: z.string() });
const json = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === "string" && v.trim().startsWith("{") ? JSON.parse(v) : v), schema);
const contextSchema = z.object({
  stackName: z.string().default("RunbookAutopilot"),
  alarmNamePrefixes: z
    .preprocess((v) => (typeof v === "string" ? v.split(",") : v), z.array(z.string().min(1)))
    .optional(),
  alarmSelectionTag: json(tag).optional(),
  optInTag: json(tag).optional(),
  fallbackTargetTag: json(tag).optional(),
  // Unset: the runbook's own `mitigation.defaults` (the one home of the defaults).
  defaultMode: z.enum(["plan", "approve", "auto"]).optional(),
  cooldownMinutes: z.coerce.number().int().positive().optional(),
  maxConcurrency: z.coerce.number().int().positive().default(5),
  fleetBrakeShare: z.coerce.number().positive().max(1).default(0.5),
  servicePort: z.coerce.number().int().min(1).max(65535).default(8080),
  healthPath: z.string().default("/health"),
  systemdUnit: z.string().optional(),
  logPath: z.string().optional(),
  nag: z.preprocess((v) => v === true || v === "true", z.boolean()).default(false),
});
const ctx = contextSchema.parse({
  stackName: app.node.tryGetContext("runbook:stackName"),
  alarmNamePrefixes: app.node.tryGetContext("runbook:alarmNamePrefixes"),
  alarmSelectionTag: app.node.tryGetContext("runbook:alarmSelectionTag"),
  optInTag: app.node.tryGetContext("runbook:optInTag"),
  fallbackTargetTag: app.node.tryGetContext("runbook:fallbackTargetTag"),
  defaultMode: app.node.tryGetContext("runbook:defaultMode"),
  cooldownMinutes: app.node.tryGetContext("runbook:cooldownMinutes"),
  maxConcurrency: app.node.tryGetContext("runbook:maxConcurrency"),
  fleetBrakeShare: app.node.tryGetContext("runbook:fleetBrakeShare"),
  servicePort: app.node.tryGetContext("runbook:servicePort"),
  healthPath: app.node.tryGetContext("runbook:healthPath"),
  systemdUnit: app.node.tryGetContext("runbook:systemdUnit"),
  logPath: app.node.tryGetContext("runbook:logPath"),
  nag: app.node.tryGetContext("runbook:nag"),
});

new RunbookStack(app, ctx.stackName, {
  description: "runbook-autopilot: api-unreachable runbook (alarm → Step Functions → SSM → postmortem)",
  runbook: {
    // Construct default: ["runbook-autopilot-"], or no prefix filter when an alarm selection tag is set.
    ...(ctx.alarmNamePrefixes ? { alarmNamePrefixes: ctx.alarmNamePrefixes } : {}),
    ...(ctx.alarmSelectionTag ? { alarmSelectionTag: ctx.alarmSelectionTag } : {}),
    ...(ctx.optInTag ? { optInTag: ctx.optInTag } : {}),
    ...(ctx.fallbackTargetTag ? { fallbackTargetTag: ctx.fallbackTargetTag } : {}),
    ...(ctx.defaultMode ? { defaultMode: ctx.defaultMode } : {}),
    ...(ctx.cooldownMinutes ? { cooldown: Duration.minutes(ctx.cooldownMinutes) } : {}),
    maxConcurrency: ctx.maxConcurrency,
    fleetBrakeShare: ctx.fleetBrakeShare,
    service: {
      port: ctx.servicePort,
      healthPath: ctx.healthPath,
      ...(ctx.systemdUnit ? { systemdUnit: ctx.systemdUnit } : {}),
      ...(ctx.logPath ? { logPath: ctx.logPath } : {}),
    },
  },
});
if (ctx.nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
