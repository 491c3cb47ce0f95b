import * as z from "zod";
import { Redactor, redactionRules } from "../core/redact/index.js";
import { probeParameters } from "../workflows/probe-parameters.js";
import { incidentIdSchema, instanceIdSchema, type ProbeState } from "./inputs.js";
import { instrument } from "./instrument.js";
import { parseInput } from "./parse.js";
import { bundledRunbook, runSettings } from "./run-settings.js";
import { env } from "./wiring.js";
import { commandRunner } from "./wiring-ssm.js";

const inputSchema = z.object({ incidentId: incidentIdSchema, target: instanceIdSchema });

/**
 * Collect, part 1: SendCommand of the project's probe document. Parameters come from the deployment's
 * configuration (service port, paths, probe knobs) and the bundled runbook (redaction), never from the alarm: they reach the script as
 * `SSM_<name>` environment variables. The Wait/poll loop in the state machine takes it from here.
 */
export const handler = instrument("SendProbe", async (event: unknown): Promise<ProbeState> => {
  const { incidentId, target } = parseInput("SendProbe", inputSchema, event);
  const e = env();
  // The probe's settings are the run's (the runbook, then the construct's props): never repeated here.
  // Its redaction patterns are the runbook's too (the built-in ones plus its own), so the probe redacts
  // on the host what the record would: the same probeParameters as the workflows.
  const { probe } = await runSettings();
  const doc = await bundledRunbook();
  const parameters = probeParameters(
    {
      runbook: { probe, redactor: new Redactor(redactionRules(doc.redaction?.patterns ?? [])) },
      rawBase: e.PROBE_RAW_DIR,
    },
    {
      port: e.SERVICE.port,
      pid: null,
      healthPath: e.SERVICE.healthPath,
      logPath: e.SERVICE.logPath,
      service: e.SERVICE.systemdUnit,
    },
    e.PROBE_RAW_DIR ? `${e.PROBE_RAW_DIR}/${incidentId}` : "",
  );
  const sent = await commandRunner().send(target, {
    name: "probe",
    scriptPath: probe.script,
    script: null,
    parameters,
    timeoutMs: probe.timeoutSeconds * 1000,
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
