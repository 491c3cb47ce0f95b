import { parseProbeOutput } from "../core/parsers/probe-output.js";
import { Redactor, redactionRules } from "../core/redact/index.js";
import { diagnose } from "../core/rules/engine.js";
import type { Runbook } from "../core/runbook/schema.js";
import { type RunSettings, resolveRunSettings } from "../core/settings/run-settings.js";
import type { RunbookView, WorkflowDeps } from "./deps.js";

/**
 * The workflow's view of a runbook: the run's settings (resolved from the runbook and the entry point's
 * layers, lambdas/core/settings) and the pure rules engine bound to the runbook.
 */
export function runbookView(doc: Runbook, settings: RunSettings = resolveRunSettings(doc)): RunbookView {
  return {
    id: doc.id,
    probe: settings.probe,
    ladders: doc.mitigation.ladders,
    cooldownSeconds: settings.cooldownSeconds,
    verify: settings.verify,
    redactor: new Redactor(redactionRules(doc.redaction?.patterns ?? [])),
    diagnose: (evidence) => diagnose(evidence, doc),
  };
}

/** Probe stdout → Evidence, as the workflow wants it. */
export const parseEvidence: WorkflowDeps["parseEvidence"] = (stdout, meta) => {
  const r = parseProbeOutput(stdout, meta);
  return r.ok ? { ok: true, value: r.value } : { ok: false, message: r.error.message };
};
