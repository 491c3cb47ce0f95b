import { Duration } from "aws-cdk-lib";

/**
 * Destructive rungs a ladder may ask approval for, one after the other (the api-unreachable ladders:
 * kill-idle-connections, restart-service; test/unit/cdk/template.test.ts checks the runbook against it).
 */
export const APPROVAL_RUNGS = 2;

/**
 * The longest an execution can take: per wave of `maxConcurrency` targets, the probe (its time-out,
 * the polling grace, Diagnose), then per target plan, per rung the approval wait and its apply, and
 * verify; plus the postmortem, resolution and Lambda retries on throttling.
 */
export function worstCaseExecution(o: {
  waves: number;
  probe: Duration;
  approval: Duration;
  approvalRungs: number;
  workflow: Duration;
}): Duration {
  const collect = o.probe.toSeconds() + 120 + 120;
  const mitigate =
    30 + o.approvalRungs * (o.approval.toSeconds() + o.workflow.toSeconds()) + o.workflow.toSeconds();
  const fixed = 60 + 60 + 120 + 600; // resolve, open, postmortem, retries on throttling
  return Duration.seconds(o.waves * (collect + mitigate) + fixed);
}

/** The time limit of one execution (Standard state machine); the worst case must fit in it. */
export const EXECUTION_TIMEOUT = Duration.hours(6);

/**
 * Refuses a configuration whose worst case exceeds `EXECUTION_TIMEOUT`: the postmortem is always
 * written before the time limit.
 */
export function assertExecutionFits(o: {
  maxTargets: number;
  maxConcurrency: number;
  probe: Duration;
  approval: Duration;
  workflow: Duration;
}): void {
  const worstCase = worstCaseExecution({
    waves: Math.ceil(o.maxTargets / o.maxConcurrency),
    probe: o.probe,
    approval: o.approval,
    approvalRungs: APPROVAL_RUNGS,
    workflow: o.workflow,
  });
  if (worstCase.toSeconds() > EXECUTION_TIMEOUT.toSeconds())
    throw new Error(
      `maxTargets ${o.maxTargets} in waves of maxConcurrency ${o.maxConcurrency}, with approvalTimeout ${o.approval.toHumanString()} per rung (${APPROVAL_RUNGS} rungs), may take ${worstCase.toHumanString()}: over the execution time limit (${EXECUTION_TIMEOUT.toHumanString()}), so the postmortem could be cut off. Lower approvalTimeout or maxTargets, or raise maxConcurrency.`,
    );
}
