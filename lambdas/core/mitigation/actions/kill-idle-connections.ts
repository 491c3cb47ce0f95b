import { z } from "zod";
import { IDENTITY_PARAMETERS, PORT_PARAMETER, targetIdentity, UINT } from "../host-command.js";
import { defineAction } from "./types.js";

/**
 * kill-idle-connections: destroys ESTABLISHED sockets of the app port idle beyond a threshold (`ss -K`),
 * the fix that keeps the JVM running when idle WebSocket sessions pile up. The idle rule is the probe's
 * (idle > threshold). At the fd limit (no class histogram) a small relief batch goes first, so the
 * histogram can be taken with the freed descriptors before the rest is destroyed. The batch is
 * `reliefBatch` more than the connections waiting in the accept queue: the acceptor takes a freed
 * descriptor for each of those first, and a batch of only `reliefBatch` left none for the attach.
 */
export const params = z
  .object({
    /** Only sockets with no byte received for longer than this (the probe's idle > threshold). */
    minIdleSeconds: z.number().int().min(1).max(86_400).default(120),
    /** Blast-radius limit per host: refuse when more sockets qualify than this. */
    maxConnections: z.number().int().positive().max(1_000_000).default(50_000),
    /**
     * When the JVM could not be attached at the fd limit: first destroy only this many of the most
     * idle sockets (plus one per connection the evidence saw waiting in the accept queue), take the
     * class histogram with the freed descriptors, then destroy the rest. 0 = no relief batch.
     */
    reliefBatch: z.number().int().min(0).max(10_000).default(32),
  })
  .strict();

const DEFAULTS = params.parse({});
const RUN_TIMEOUT_MS = 120_000;

export default defineAction({
  id: "kill-idle-connections",
  params,
  destructive: true,
  idleThresholdParam: "minIdleSeconds",
  command: {
    name: "kill-idle-connections",
    script: "actions/kill-idle-connections.sh",
    description: "runbook-autopilot action: destroy idle ESTABLISHED sockets on the app port (ss -K)",
    executionTimeoutSeconds: 300,
    parameters: {
      port: PORT_PARAMETER,
      // The diagnosed process, re-checked on the host (PID and start time); the script requires both.
      ...IDENTITY_PARAMETERS,
      minIdleMs: {
        description: "Only sockets idle longer than this (idle > threshold, the probe's rule), ms",
        allowedPattern: UINT(10),
        default: String(DEFAULTS.minIdleSeconds * 1000),
      },
      maxConnections: {
        description: "Refuse above this many candidates",
        allowedPattern: UINT(7),
        default: String(DEFAULTS.maxConnections),
      },
      dryRun: { description: "true: list only", allowedPattern: "^(true|false)$", default: "false" },
      limit: {
        description: "Destroy only the N most idle candidates (relief batch); empty: all",
        allowedPattern: "^([1-9][0-9]{0,6})?$",
        default: "",
      },
    },
  },
  blocked: () => null,
  describe: (p, ctx) =>
    `Destroy ESTABLISHED TCP sockets on port ${ctx.port} with no byte received for more than ${p.minIdleSeconds}s (ss -K), at most ${p.maxConnections}; LISTEN sockets and sockets with recent traffic are left alone. The JVM keeps running.`,
  runs: (p, ctx) => {
    // The sockets destroyed are the diagnosed process's: the script re-checks PID and start time on the host.
    const target = targetIdentity(
      ctx,
      `nothing ran on port ${ctx.port} when the evidence was taken: no process's sockets to destroy`,
    );
    if (!target.ok) return target;
    const base = {
      port: String(ctx.port),
      ...target.parameters,
      minIdleMs: String(p.minIdleSeconds * 1000),
      maxConnections: String(p.maxConnections),
      dryRun: "false",
    };
    const main = { part: "main", parameters: { ...base, limit: "" }, timeoutMs: RUN_TIMEOUT_MS };
    // At the fd limit the histogram could not be taken: free a few descriptors first, take it, then the rest.
    if (!ctx.histogramMissing || p.reliefBatch === 0) return { ok: true, runs: [main] };
    const relief = {
      part: "relief",
      parameters: { ...base, limit: String(reliefLimit(p.reliefBatch, ctx.acceptQueued ?? null)) },
      timeoutMs: RUN_TIMEOUT_MS,
      relief: true,
    };
    return { ok: true, runs: [relief, main] };
  },
  nothingToDo: "no socket was idle long enough: nothing to kill",
  summarize: (outputs) => {
    const relief = outputs.find((o) => o.relief)?.kv;
    const main = outputs.at(-1)?.kv ?? {};
    const first = relief?.killed ? `${relief.killed} in a relief batch, then ` : "";
    return `destroyed ${first}${main.killed} idle sockets (ESTABLISHED ${relief?.establishedBefore ?? main.establishedBefore} → ${main.establishedAfter})`;
  },
});

/**
 * How many sockets the relief batch destroys: `batch` for the attach, plus one for each connection that
 * waited in the accept queue (the acceptor fills freed descriptors with those first). Bounded by the
 * script's `limit` pattern (7 digits).
 */
export function reliefLimit(batch: number, acceptQueued: number | null): number {
  return Math.min(batch + Math.max(0, acceptQueued ?? 0), 9_999_999);
}
