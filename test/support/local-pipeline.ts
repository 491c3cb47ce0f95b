import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { Context } from "aws-lambda";
import { bundleLambda, writeBundledPostmortem, writeBundledRunbooks } from "../../lib/lambda-bundle.js";
import { handlerEntry, REPO_ROOT } from "../../lib/paths.js";
import type { TaskTokenServer } from "./task-token-server.js";

/** Shared wiring for running the synthesized state machine locally with the real handlers. */

const context = { functionName: "local", awsRequestId: "r" } as unknown as Context;
type Handler = (event: unknown, context: Context) => Promise<unknown>;
export type LocalHandler = (input: unknown) => Promise<unknown>;

/** The documents' refs the Lambdas get in SSM_DOCUMENTS, from the names the SSM server registered. */
export function ssmDocumentRefs(names: Record<string, string>) {
  const doc = (part: string, step: string) => ({
    documentName: Object.entries(names).find(([id]) => id.includes(part))?.[1] ?? "",
    step,
  });
  return {
    probe: doc("Probe", "probe"),
    "kill-idle-connections": doc("KillIdleConnections", "kill-idle-connections"),
    "restart-service": doc("RestartService", "restart-service"),
    "check-health": doc("CheckHealth", "check-health"),
  };
}

/** A handler by its name (lambdas/handlers/<name>.ts), ready to invoke. */
export type HandlerLoader = (name: string) => Promise<LocalHandler>;

/** A handler from source: the YAML runbook and the templates read as the CLI reads them. */
export const realHandler: HandlerLoader = async (name) => {
  const mod = (await import(`../../lambdas/handlers/${name}.ts`)) as { handler: Handler };
  return (input: unknown) => mod.handler(input, context);
};

/**
 * The handlers as they are deployed: each bundled as the construct bundles it (lib/lambda-bundle.ts:
 * CommonJS, the runbook read from the JSON written at synth, the templates precompiled) and loaded with
 * `require`, as the Lambda runtime loads `index.cjs`. The bundles go under the repository (removed by
 * `remove`) so that `@aws-sdk/*`, external as on Lambda, resolves from node_modules as the runtime's copy
 * would. `runbooksDir` (the Lambdas' RUNBOOKS_DIR) gets the JSON runbook and the precompiled templates the
 * bundles read: call this after the runbook is final.
 */
export function bundledHandlers(runbooksDir: string): { load: HandlerLoader; remove: () => void } {
  writeBundledRunbooks(runbooksDir);
  writeBundledPostmortem(runbooksDir);
  const root = mkdtempSync(join(REPO_ROOT, ".test-bundles-"));
  const require = createRequire(import.meta.url);
  return {
    load: async (name) => {
      const file = bundleLambda(join(root, name), { entry: handlerEntry(name) });
      const mod = require(file) as { handler: Handler };
      return (input: unknown) => mod.handler(input, context);
    },
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

/**
 * A "CloudWatch Alarm State Change" event as EventBridge delivers it, without metrics: the targets come
 * from `resolvedTo` (there is no local EC2 to look the instance up in). `id` is the event's id.
 */
export function alarmStateChange(id: string, at: string, reason: string) {
  return {
    version: "0",
    id,
    "detail-type": "CloudWatch Alarm State Change",
    source: "aws.cloudwatch",
    account: "123456789012",
    time: at,
    region: "eu-west-1",
    resources: ["arn:aws:cloudwatch:eu-west-1:123456789012:alarm:runbook-autopilot-api-unreachable"],
    detail: {
      alarmName: "runbook-autopilot-api-unreachable",
      state: { value: "ALARM", reason, timestamp: at },
      previousState: { value: "OK", reason: "ok", timestamp: "2026-11-25T03:01:00.000+0000" },
      configuration: { description: "API unreachable", metrics: [] },
    },
  };
}

/** ResolveTargets run for real, then answered as EC2 would for one tagged, running `instance`. */
export async function resolvedTo(instance: string, load = realHandler): Promise<LocalHandler> {
  const resolveReal = await load("resolve-targets");
  return async (input) => {
    const out = (await resolveReal(input)) as Record<string, unknown>;
    return { ...out, targets: [instance], hasTargets: true, groupSize: 1, strategy: "instance-dimension" };
  };
}

/**
 * RequestApproval (`lambda:invoke.waitForTaskToken`) as Step Functions runs it: a fresh task token per
 * request, the real handler invoked with it (it keeps the token in the incident table and publishes),
 * then the task waits until the token is answered (`runbook approve` → the TaskTokenServer) or its
 * TimeoutSeconds passes.
 */
export async function approvalState(tokens: TaskTokenServer, load = realHandler): Promise<LocalHandler> {
  const real = await load("request-approval");
  return async (input: unknown) => {
    // `lambda:invoke.waitForTaskToken` gets `{FunctionName, Payload}`: the function is invoked with the
    // Payload, whose `$$.Task.Token` Step Functions fills with the task's own token.
    const payload = (input as { Payload: Record<string, unknown> }).Payload;
    const { token, outcome } = tokens.issue();
    await real({ ...payload, taskToken: token });
    tokens.onRequested?.(payload);
    return outcome;
  };
}

/**
 * Every Task state of the state machine bound to its real handler; SNS publishes captured in
 * `published`; ResolveTargets given by the caller (there is no local EC2 to look tags up in).
 * Approvals (mode approve) need `tokens`, the local task-token endpoint `runbook approve` answers.
 * `load`: from source (default) or bundled as deployed (bundledHandlers).
 */
export async function pipelineHandlers(
  resolveTargets: LocalHandler,
  published: { state: string; input: unknown }[],
  tokens?: TaskTokenServer,
  load: HandlerLoader = realHandler,
): Promise<Record<string, LocalHandler>> {
  const sns = (state: string) => async (input: unknown) => {
    published.push({ state, input });
    return {};
  };
  return {
    ResolveTargets: resolveTargets,
    OpenIncident: await load("open-incident"),
    SendProbe: await load("send-probe"),
    PollProbe: await load("poll-probe"),
    Diagnose: await load("diagnose"),
    FleetBrake: await load("fleet-brake"),
    PlanMitigation: await load("plan-mitigation"),
    ApplyMitigation: await load("apply-mitigation"),
    Verify: await load("verify"),
    WritePostmortem: await load("write-postmortem"),
    NotifyResult: sns("NotifyResult"),
    NotifyFleetBrake: sns("NotifyFleetBrake"),
    NotifyNoTargets: sns("NotifyNoTargets"),
    NotifyRunbookFailure: sns("NotifyRunbookFailure"),
    RequestApproval: tokens
      ? await approvalState(tokens, load)
      : async () => {
          throw new Error("an approval was requested: pass a TaskTokenServer to pipelineHandlers");
        },
  };
}

/**
 * The environment the construct gives the Lambdas, pointed at the local servers (`aws.env()`), with
 * every SSM document the template defines; `overrides` for what a test changes (SERVICE, mode...).
 */
export function lambdaEnv(
  awsEnv: Record<string, string>,
  names: Record<string, string>,
  overrides: Record<string, string> = {},
): Record<string, string> {
  return {
    ...awsEnv,
    POWERTOOLS_TRACE_ENABLED: "false",
    POWERTOOLS_LOG_LEVEL: "SILENT",
    ARTIFACT_BUCKET: "runbook-artifacts",
    INCIDENT_TABLE: "runbook-incidents",
    TOPIC_ARN: "arn:aws:sns:us-east-1:123456789012:ops",
    SSM_DOCUMENTS: JSON.stringify(ssmDocumentRefs(names)),
    OPT_IN_TAG: JSON.stringify({ key: "runbook-autopilot:enabled", value: "true" }),
    SERVICE: JSON.stringify({ port: 1, healthPath: "/health", logPath: null, systemdUnit: null }),
    // The run settings the construct resolves from the shipped runbook (probe budget shortened for tests).
    DEFAULT_MODE: "plan",
    COOLDOWN_SECONDS: "1800",
    PROBE_TIMEOUT_SECONDS: "5",
    PROBE_RAW_DIR: "",
    ...overrides,
  };
}

/**
 * The Lambdas' environment for a run against a lab on this host: `lambdaEnv` with the lab as the service,
 * metrics off, auto mode and the lab-timescale runbooks; `overrides` last.
 */
export function labLambdaEnv(
  awsEnv: Record<string, string>,
  names: Record<string, string>,
  lab: { readonly port: number; readonly logPath: string | null; readonly runbooksDir: string },
  overrides: Record<string, string> = {},
): Record<string, string> {
  return lambdaEnv(awsEnv, names, {
    POWERTOOLS_METRICS_DISABLED: "true",
    SERVICE: JSON.stringify({
      port: lab.port,
      healthPath: "/health",
      logPath: lab.logPath,
      systemdUnit: null,
    }),
    DEFAULT_MODE: "auto",
    RUNBOOKS_DIR: lab.runbooksDir,
    ...overrides,
  });
}
