import { settingsFromEnv } from "../core/settings/run-settings.js";
import { DEFAULT_RUNBOOKS_DIR } from "../workflows/bundled-runbook.js";
import { type AwsWorkflowOptions, awsStateMachineSteps } from "../workflows/state-machine-steps.js";
import type {
  StateMachineSteps,
  StateMachineStepsDeps,
  StateMachineStepsFactory,
} from "../workflows/step-contract.js";
import { systemClock } from "./wiring.js";
import { incidentStore } from "./wiring-dynamo.js";
import { artifactStore } from "./wiring-s3.js";
import { notify } from "./wiring-sns.js";
import { commandRunner } from "./wiring-ssm.js";

/**
 * The composition root of the five workflow Lambdas (diagnose, plan, apply, verify, postmortem): kept
 * apart from wiring.ts so the other handlers' bundles carry neither the workflows nor the runbook. The
 * steps' four ports compose the service wiring modules (SSM runner, S3 artifacts, DynamoDB records, SNS
 * notifications): these five bundles import those four SDK clients, the others only their own. The
 * postmortem state adds its templates and renderer in workflow-wiring-postmortem.ts, imported by the
 * WritePostmortem handler alone.
 */
export const workflowOptions: AwsWorkflowOptions = {
  // The construct copies runbooks/ next to each bundle and sets RUNBOOKS_DIR; from source, the repository's.
  runbooksDir: process.env.RUNBOOKS_DIR ?? DEFAULT_RUNBOOKS_DIR,
  runbookId: process.env.RUNBOOK_ID ?? "api-unreachable",
  rawDirBase: process.env.PROBE_RAW_DIR ?? "/var/tmp/runbook-autopilot",
  // The construct's layer of the run settings (mode, cooldown, probe budget) over the runbook's.
  settings: settingsFromEnv(process.env),
};

/** The steps of `factory` over the AWS ports, built on first use and kept for the warm Lambda. */
export function cachedSteps(factory: StateMachineStepsFactory): () => StateMachineSteps {
  let cached: StateMachineSteps | null = null;
  return () => {
    if (!cached) {
      const deps: StateMachineStepsDeps = {
        runner: commandRunner(),
        artifacts: artifactStore(),
        incidents: incidentStore(),
        clock: systemClock,
        notify,
      };
      cached = factory(deps);
    }
    return cached;
  };
}

/** Diagnose, plan, apply and verify (writePostmortem throws: see workflow-wiring-postmortem.ts). */
export const stateMachineSteps = cachedSteps(awsStateMachineSteps(workflowOptions));
