import { settingsFromEnv } from "../core/settings/run-settings.js";
import { awsWorkflowPortFactory } from "../workflows/aws-port.js";
import { DEFAULT_RUNBOOKS_DIR } from "../workflows/runbook-files.js";
import type { WorkflowPort, WorkflowPortDeps, WorkflowPortFactory } from "../workflows/step-port.js";
import { artifactStore, commandRunner, incidentStore, notify, systemClock } from "./wiring.js";

/**
 * The composition root of the five workflow Lambdas (diagnose, plan, apply, verify, postmortem): kept
 * apart from wiring.ts so the other handlers' bundles carry neither the workflows nor the templates.
 */
const workflowPortFactory: WorkflowPortFactory = awsWorkflowPortFactory({
  // The construct copies runbooks/ next to each bundle and sets RUNBOOKS_DIR; from source, the repository's.
  runbooksDir: process.env.RUNBOOKS_DIR ?? DEFAULT_RUNBOOKS_DIR,
  runbookId: process.env.RUNBOOK_ID ?? "api-unreachable",
  rawDirBase: process.env.PROBE_RAW_DIR ?? "/var/tmp/runbook-autopilot",
  // The construct's layer of the run settings (mode, cooldown, probe budget) over the runbook's.
  settings: settingsFromEnv(process.env),
});

let cachedPort: WorkflowPort | null = null;
export function workflowPort(): WorkflowPort {
  if (!cachedPort) {
    const deps: WorkflowPortDeps = {
      runner: commandRunner(),
      artifacts: artifactStore(),
      incidents: incidentStore(),
      clock: systemClock,
      notify,
    };
    cachedPort = workflowPortFactory(deps);
  }
  return cachedPort;
}
