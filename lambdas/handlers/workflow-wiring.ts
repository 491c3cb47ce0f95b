import { settingsFromEnv } from "../core/settings/run-settings.js";
import type { CommandRunner } from "../ports/index.js";
import { DEFAULT_RUNBOOKS_DIR } from "../workflows/bundled-runbook.js";
import { type AwsWorkflowOptions, awsStateMachineSteps } from "../workflows/state-machine-steps.js";
import type {
  StateMachineSteps,
  StateMachineStepsDeps,
  StateMachineStepsFactory,
} from "../workflows/step-contract.js";
import { fromEnv } from "./parse.js";
import { systemClock } from "./wiring.js";
import { incidentStore } from "./wiring-dynamo.js";
import { artifactStore } from "./wiring-s3.js";

/**
 * The composition root of the five workflow Lambdas (diagnose, plan, apply, verify, postmortem): kept
 * apart from wiring.ts so the other handlers' bundles carry neither the workflows nor the runbook. Every
 * step reads and writes the S3 artifacts and the DynamoDB records; the SSM runner and SNS notifications are
 * given by the handlers whose steps use them (StepPorts: apply both, verify the runner, the postmortem
 * notifications), so each bundle imports only the SDK clients its step calls (each is tens of ms of a
 * cold start: docs/benchmarks.md, bench 8). The postmortem state adds its templates and renderer in
 * workflow-wiring-postmortem.ts, imported by the WritePostmortem handler alone.
 */
export const workflowOptions: AwsWorkflowOptions = {
  // The construct copies runbooks/ next to each bundle and sets RUNBOOKS_DIR; from source, the repository's.
  runbooksDir: process.env.RUNBOOKS_DIR ?? DEFAULT_RUNBOOKS_DIR,
  runbookId: process.env.RUNBOOK_ID ?? "api-unreachable",
  rawDirBase: process.env.PROBE_RAW_DIR ?? "/var/tmp/runbook-autopilot",
  // The construct's layer of the run settings (mode, cooldown, probe budget) over the runbook's.
  settings: fromEnv(() => settingsFromEnv(process.env)),
};

/** The ports a workflow handler gives its steps beyond the artifacts and records (the others never call them). */
export interface StepPorts {
  /** The SSM runner (wiring-ssm.ts): the apply and verify steps send host commands. */
  readonly runner?: () => CommandRunner;
  /** SNS (wiring-sns.ts): the apply and postmortem steps notify. */
  readonly notify?: StateMachineStepsDeps["notify"];
}

/** A port this Lambda was built without: a step that calls it is a wiring bug, reported as such. */
const missing = (port: string) => () =>
  Promise.reject(
    new Error(
      `this Lambda was built without ${port}: its step is not expected to use it (lambdas/handlers/workflow-wiring.ts)`,
    ),
  );

/** The steps of `factory` over the AWS ports, built on first use and kept for the warm Lambda. */
export function cachedSteps(
  factory: StateMachineStepsFactory,
  ports: StepPorts = {},
): () => StateMachineSteps {
  let cached: StateMachineSteps | null = null;
  return () => {
    if (!cached) {
      const deps: StateMachineStepsDeps = {
        runner: ports.runner?.() ?? { run: missing("the SSM command runner") },
        artifacts: artifactStore(),
        incidents: incidentStore(),
        clock: systemClock,
        notify: ports.notify ?? missing("SNS notifications"),
      };
      cached = factory(deps);
    }
    return cached;
  };
}

/** Diagnose, plan, apply and verify, with the given ports (writePostmortem throws: see workflow-wiring-postmortem.ts). */
export const workflowSteps = (ports: StepPorts = {}) =>
  cachedSteps(awsStateMachineSteps(workflowOptions), ports);
