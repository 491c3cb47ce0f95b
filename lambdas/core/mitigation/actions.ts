import { z } from "zod";
import type { ActionId } from "../incident/schema.js";

/**
 * Registered mitigation actions (Robusta-style): the runbook YAML names an action by its stable id
 * and gives params; each action validates its params with its own schema. Scripts live in
 * `runbooks/actions/` and run through the CommandRunner port (SSM on EC2, bash locally).
 */

export const killIdleConnectionsParams = z
  .object({
    /** Only sockets with no byte received for at least this long. */
    minIdleSeconds: z.number().int().min(1).max(86_400).default(120),
    /** Blast-radius limit per host: refuse when more sockets qualify than this. */
    maxConnections: z.number().int().positive().max(1_000_000).default(50_000),
    /**
     * When the JVM could not be attached at the fd limit: first destroy only this many of the most
     * idle sockets, take the class histogram with the freed descriptors, then destroy the rest.
     * 0 = no relief batch.
     */
    reliefBatch: z.number().int().min(0).max(10_000).default(32),
  })
  .strict();

export const restartServiceParams = z
  .object({
    /** SIGTERM grace period before SIGKILL. */
    graceSeconds: z.number().int().min(0).max(600).default(20),
    /** How long the restarted service has to listen and answer health. */
    startTimeoutSeconds: z.number().int().min(5).max(1_800).default(90),
  })
  .strict();

export const notifyOnlyParams = z.object({}).strict();
export const escalateParams = z.object({}).strict();

export interface ActionContext {
  readonly port: number;
  readonly pid: number | null;
  readonly restart: { readonly service: string | null; readonly command: string | null } | null;
  /** Why the process may not be stopped (see `targetProcess`), or null/absent when it may. */
  readonly processRefusal?: string | null;
}

export interface ActionSpec<P extends z.ZodTypeAny = z.ZodTypeAny> {
  readonly id: ActionId;
  readonly params: P;
  /** Changes something on the host: needs evidence saved first, a lock, and a mode that allows it. */
  readonly destructive: boolean;
  /** Script under runbooks/ run through the CommandRunner, or null for actions with no host side. */
  readonly script: string | null;
  /** Why this action cannot run in this context, or null. */
  blocked(ctx: ActionContext): string | null;
  /** One sentence: exactly what will change. */
  describe(params: z.infer<P>, ctx: ActionContext): string;
}

const killIdle: ActionSpec<typeof killIdleConnectionsParams> = {
  id: "kill-idle-connections",
  params: killIdleConnectionsParams,
  destructive: true,
  script: "actions/kill-idle-connections.sh",
  blocked: () => null,
  describe: (p, ctx) =>
    `Destroy ESTABLISHED TCP sockets on port ${ctx.port} with no byte received for more than ${p.minIdleSeconds}s (ss -K), at most ${p.maxConnections}; LISTEN sockets and sockets with recent traffic are left alone. The JVM keeps running.`,
};

const restart: ActionSpec<typeof restartServiceParams> = {
  id: "restart-service",
  params: restartServiceParams,
  destructive: true,
  script: "actions/restart-service.sh",
  blocked: (ctx) =>
    ctx.restart && (ctx.restart.service || ctx.restart.command)
      ? (ctx.processRefusal ?? null)
      : "no restart method given (--service UNIT or --restart-command CMD): restarting is not allowed on this target",
  describe: (p, ctx) => {
    const how = ctx.restart?.service
      ? `systemctl restart ${ctx.restart.service}`
      : ctx.pid
        ? `stop PID ${ctx.pid} (SIGTERM, ${p.graceSeconds}s grace, then SIGKILL) and run the restart command`
        : "run the restart command (no process was running on the port)";
    return `Restart the service: ${how}; wait up to ${p.startTimeoutSeconds}s for port ${ctx.port} to listen and health to answer.`;
  },
};

const notifyOnly: ActionSpec<typeof notifyOnlyParams> = {
  id: "notify-only",
  params: notifyOnlyParams,
  destructive: false,
  script: null,
  blocked: () => null,
  describe: () => "Change nothing on the host; report the diagnosis to the on-call.",
};

const escalate: ActionSpec<typeof escalateParams> = {
  id: "escalate",
  params: escalateParams,
  destructive: false,
  script: null,
  blocked: () => null,
  describe: () => "Stop automatic mitigation and escalate to a person with the evidence and diagnosis.",
};

export const ACTIONS: Readonly<Record<ActionId, ActionSpec>> = {
  "kill-idle-connections": killIdle,
  "restart-service": restart,
  "notify-only": notifyOnly,
  escalate,
};

export function actionSpec(id: ActionId): ActionSpec {
  return ACTIONS[id];
}

/** Whether an action changes the host (as opposed to only telling people): the registry says. */
export function changesHost(id: ActionId): boolean {
  return ACTIONS[id].destructive;
}
