import type { Diagnosis } from "../core/diagnosis/schema.js";
import type { Evidence } from "../core/evidence/schema.js";
import type { CommandResult } from "../ports/index.js";
import type { WorkflowDeps } from "./deps.js";
import { probeParameters } from "./probe-parameters.js";
import { runProbe, type TargetOptions } from "./steps.js";

export class DiagnoseError extends Error {
  override name = "DiagnoseError";
  constructor(
    message: string,
    readonly probe: CommandResult,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface DiagnoseOutcome {
  readonly evidence: Evidence;
  readonly diagnosis: Diagnosis;
  readonly probe: CommandResult;
  readonly durationMs: number;
}

/** Collect and diagnose, changing nothing: `runbook diagnose`. */
export async function diagnoseTarget(
  deps: Pick<WorkflowDeps, "runner" | "runbook" | "scripts" | "parseEvidence" | "clock">,
  t: TargetOptions,
  rawDir = "",
): Promise<DiagnoseOutcome> {
  const started = deps.clock.now().getTime();
  const probe = await runProbe(deps, t, probeParameters(deps, t, rawDir));
  if (!probe.stdout.trim()) {
    throw new DiagnoseError(
      `the probe produced no output (${probe.status}${probe.detail ? `: ${probe.detail.trim().slice(0, 300)}` : ""})`,
      probe,
    );
  }
  const parsed = deps.parseEvidence(probe.stdout, {
    target: t.target,
    collectedAt: deps.clock.now().toISOString(),
  });
  if (!parsed.ok) throw new DiagnoseError(`the probe output could not be read: ${parsed.message}`, probe);
  const diagnosis = deps.runbook.diagnose(parsed.value);
  // The JSON `diagnose` prints: redacted again, whatever runner produced the probe's output.
  const r = deps.runbook.redactor;
  return {
    evidence: r.deep(parsed.value).value,
    diagnosis: r.deep(diagnosis).value,
    probe: { ...probe, stdout: r.text(probe.stdout).text, stderr: r.text(probe.stderr).text },
    durationMs: deps.clock.now().getTime() - started,
  };
}
