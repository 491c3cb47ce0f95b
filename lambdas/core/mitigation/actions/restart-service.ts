import { z } from "zod";
import {
  HEALTH_PATH_PARAMETER,
  IDENTITY_PARAMETERS,
  PORT_PARAMETER,
  targetIdentity,
  UINT,
} from "../host-command.js";
import { defineAction, mainRun } from "./types.js";

/**
 * restart-service: stops the process the evidence identified (PID and start time, re-checked on the
 * host) and starts the service again (systemd unit, or locally the operator's start command), then
 * waits for the port to listen and health to answer.
 */
export const params = z
  .object({
    /** SIGTERM grace period before SIGKILL. */
    graceSeconds: z.number().int().min(0).max(600).default(20),
    /** How long the restarted service has to listen and answer health. */
    startTimeoutSeconds: z.number().int().min(5).max(1_800).default(90),
  })
  .strict();

const DEFAULTS = params.parse({});

export default defineAction({
  id: "restart-service",
  params,
  destructive: true,
  command: {
    name: "restart-service",
    script: "actions/restart-service.sh",
    description: "runbook-autopilot action: restart the systemd unit behind the app port and wait for health",
    executionTimeoutSeconds: 900,
    parameters: {
      port: PORT_PARAMETER,
      ...IDENTITY_PARAMETERS,
      service: {
        description: "systemd unit",
        allowedPattern: "^([A-Za-z0-9@._:-]{1,128})?$",
        default: "",
      },
      // Free-form start commands are a laptop feature; through SSM only a systemd unit can be restarted.
      restartCommand: {
        description: "Not allowed through SSM: must be empty",
        allowedPattern: "^$",
        default: "",
      },
      graceSeconds: {
        description: "SIGTERM grace before SIGKILL, s",
        allowedPattern: UINT(4),
        default: String(DEFAULTS.graceSeconds),
      },
      startTimeoutSeconds: {
        description: "Wait for listen + health, s",
        allowedPattern: UINT(4),
        default: String(DEFAULTS.startTimeoutSeconds),
      },
      healthPath: HEALTH_PATH_PARAMETER,
    },
  },
  blocked: (ctx) =>
    ctx.restart && (ctx.restart.service || ctx.restart.command)
      ? ctx.process.ok
        ? null
        : ctx.process.reason
      : "no restart method given (--service UNIT or --restart-command CMD): restarting is not allowed on this target",
  describe: (p, ctx) => {
    const how = ctx.restart?.service
      ? `systemctl restart ${ctx.restart.service}`
      : ctx.pid
        ? `stop PID ${ctx.pid} (SIGTERM, ${p.graceSeconds}s grace, then SIGKILL) and run the restart command`
        : "run the restart command (no process was running on the port)";
    return `Restart the service: ${how}; wait up to ${p.startTimeoutSeconds}s for port ${ctx.port} to listen and health to answer.`;
  },
  runs: (p, ctx) => {
    // The process acted on is the process diagnosed: the script re-checks PID and start time on the host.
    // Nothing running on the port is no refusal here: the restart then only starts the service (both empty).
    const target = targetIdentity(ctx, null);
    if (!target.ok) return target;
    return mainRun(
      {
        port: String(ctx.port),
        ...target.parameters,
        service: ctx.restart?.service ?? "",
        restartCommand: ctx.restart?.command ?? "",
        graceSeconds: String(p.graceSeconds),
        startTimeoutSeconds: String(p.startTimeoutSeconds),
        healthPath: ctx.healthPath,
      },
      // Stop (grace, then SIGKILL or systemctl's own budget), then the start deadline from when the old process is gone.
      (p.graceSeconds + 2 * p.startTimeoutSeconds + 40) * 1000,
    );
  },
  summarize: (outputs) => {
    const kv = outputs.at(-1)?.kv ?? {};
    return `restarted: PID ${kv.oldPid} → ${kv.newPid} (stopped with ${kv.stopSignal}), healthy after ${kv.downSeconds}s`;
  },
  // The process the next collection looks at (steps.ts currentPid): the new one, when the script says.
  details: (kv) => ({ newPid: /^[1-9]\d*$/.test(kv.newPid ?? "") ? Number(kv.newPid) : null }),
});
