import { encodeForProbe } from "../core/redact/index.js";
import type { RunbookView } from "./deps.js";

/** The probe's target, as the parameters need it. */
export interface ProbeTarget {
  readonly port: number;
  readonly pid: number | null;
  readonly healthPath: string;
  readonly logPath: string | null;
  /** The systemd unit (`--service`, `service.systemdUnit`): the probe asks systemd why a process that is gone exited. */
  readonly service?: string | null;
  readonly restart?: { readonly service: string | null } | null;
}

/**
 * The probe's parameters (`SSM_<name>` on the host), from the resolved runbook: its probe settings and its
 * redaction patterns (the built-in ones plus the runbook's own, overrides included). One place for the
 * CLI, the workflow Lambdas and SendProbe, so the probe redacts on the host with the same patterns the
 * record is redacted with.
 */
export function probeParameters(
  deps: { readonly runbook: Pick<RunbookView, "probe" | "redactor">; readonly rawBase?: string | undefined },
  t: ProbeTarget,
  rawDir: string,
): Record<string, string> {
  return {
    port: String(t.port),
    pid: t.pid ? String(t.pid) : "",
    healthPath: t.healthPath,
    logPath: t.logPath ?? "",
    rawDir,
    timeoutSeconds: String(deps.runbook.probe.timeoutSeconds),
    healthTimeoutSeconds: String(deps.runbook.probe.healthTimeoutSeconds ?? ""),
    idleThresholdMs: String(deps.runbook.probe.idleThresholdMs),
    histogramMode: deps.runbook.probe.histogramMode,
    sessionClasses: (deps.runbook.probe.sessionClasses ?? []).map((c) => c.className).join(" "),
    rawBase: rawDir === "" ? "" : (deps.rawBase ?? ""),
    redactPatterns: encodeForProbe(deps.runbook.redactor.rules),
    service: t.service ?? t.restart?.service ?? "",
  };
}
