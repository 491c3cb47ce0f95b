import { z } from "zod";
import type { RunbookView } from "../workflows/deps.js";
import { probeParameters } from "../workflows/probe-parameters.js";
import { DEFAULT_RUNBOOKS_DIR, loadRunbookDoc, runbookView } from "../workflows/runbook-files.js";
import { incidentIdSchema, instanceIdSchema, type ProbeState, parseInput } from "./inputs.js";
import { instrument } from "./instrument.js";
import { commandRunner, env } from "./wiring.js";

const inputSchema = z.object({ incidentId: incidentIdSchema, target: instanceIdSchema });

/**
 * The resolved runbook bundled with the Lambda (RUNBOOKS_DIR: the shipped runbook with the construct's
 * override applied at synth time), read once per container: its probe settings and redaction patterns.
 */
let runbook: Promise<RunbookView> | null = null;
const resolvedRunbook = () =>
  (runbook ??= loadRunbookDoc(
    process.env.RUNBOOK_ID ?? "api-unreachable",
    process.env.RUNBOOKS_DIR ?? DEFAULT_RUNBOOKS_DIR,
  ).then(runbookView));

/**
 * Collect, part 1: SendCommand of the project's probe document. Parameters come from the deployment's
 * configuration (service port, paths, probe budget) and the resolved runbook (probe settings, and the
 * redaction patterns: the built-in ones plus the runbook's own, so the probe redacts on the host what the
 * record would), never from the alarm: they reach the script as `SSM_<name>` environment variables.
 * The Wait/poll loop in the state machine takes it from here.
 */
export const handler = instrument("SendProbe", async (event: unknown): Promise<ProbeState> => {
  const { incidentId, target } = parseInput("SendProbe", inputSchema, event);
  const e = env();
  const parameters = probeParameters(
    { runbook: await resolvedRunbook(), rawBase: e.PROBE_RAW_DIR },
    { port: e.SERVICE.port, pid: null, healthPath: e.SERVICE.healthPath, logPath: e.SERVICE.logPath },
    e.PROBE_RAW_DIR ? `${e.PROBE_RAW_DIR}/${incidentId}` : "",
  );
  const sent = await commandRunner().send(target, {
    name: "probe",
    script: "",
    // The deployment's probe budget (the construct's probeTimeout) wins over the runbook's.
    parameters: { ...parameters, timeoutSeconds: String(e.PROBE_TIMEOUT_SECONDS) },
    timeoutMs: e.PROBE_TIMEOUT_SECONDS * 1000,
  });
  if ("result" in sent) {
    const r = sent.result;
    return {
      done: true,
      result: {
        status: r.status,
        exitCode: r.exitCode,
        stdoutKey: null,
        stdoutTruncated: false,
        outputUri: null,
        rawOutputUri: null,
        commandId: null,
        detail: r.detail,
      },
    };
  }
  return { done: false, command: sent.command, attempt: 0, waitSeconds: 3, status: "Sent" };
});
