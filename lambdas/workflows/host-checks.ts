import {
  HEALTH_CHECK_COMMAND,
  type HealthCheckParams,
  healthCheckRun,
  parseHealthChecks,
} from "../core/mitigation/health-check.js";
import type { HostCommand } from "../core/mitigation/host-command.js";
import type { WorkflowDeps } from "./deps.js";
import type { TargetOptions } from "./steps.js";

/** Which script a request runs: its path, and its text where the runner runs text (locally). */
export function commandRequest(deps: Pick<WorkflowDeps, "scripts">, command: HostCommand) {
  return { name: command.name, scriptPath: command.script, script: deps.scripts?.[command.script] ?? null };
}

/** After a rung: does the service answer within five quick attempts? */
export async function quickHealth(deps: WorkflowDeps, t: TargetOptions): Promise<boolean> {
  return (await healthNow(deps, t, 5)).recovered;
}

export async function healthNow(deps: WorkflowDeps, t: TargetOptions, attempts: number) {
  return (await checkHealth(deps, t, { attempts, intervalSeconds: 1 })).checks;
}

/** Runs the health check script on the host and reads its attempts. */
export async function checkHealth(deps: WorkflowDeps, t: TargetOptions, p: HealthCheckParams) {
  const run = healthCheckRun(t, p);
  const res = await deps.runner.run(t.target, { ...commandRequest(deps, HEALTH_CHECK_COMMAND), ...run });
  return { checks: parseHealthChecks(res.stdout) };
}
