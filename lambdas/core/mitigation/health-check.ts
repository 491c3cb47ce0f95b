import * as z from "zod";
import { HEALTH_PATH_PARAMETER, type HostCommand, PORT_PARAMETER, UINT } from "./host-command.js";

/**
 * check-health: probes the local health path until it answers 2xx (bounded attempts). Not a ladder
 * rung: the executor runs it after each destructive rung, before the first change, and to verify.
 */
export const healthCheckParams = z
  .object({
    attempts: z.number().int().min(1).max(999).default(15),
    intervalSeconds: z.number().int().min(0).max(999).default(2),
    /** Per-request time-out (curl -m). */
    requestTimeoutSeconds: z.number().int().min(1).max(99).default(3),
  })
  .strict();
export type HealthCheckParams = z.input<typeof healthCheckParams>;

const DEFAULTS = healthCheckParams.parse({});

export const HEALTH_CHECK_COMMAND: HostCommand = {
  name: "check-health",
  script: "actions/check-health.sh",
  description: "runbook-autopilot action: probe the local health path until 2xx",
  executionTimeoutSeconds: 600,
  parameters: {
    port: PORT_PARAMETER,
    healthPath: HEALTH_PATH_PARAMETER,
    attempts: { description: "Attempts", allowedPattern: UINT(3), default: String(DEFAULTS.attempts) },
    intervalSeconds: {
      description: "Seconds between attempts",
      allowedPattern: UINT(3),
      default: String(DEFAULTS.intervalSeconds),
    },
    requestTimeoutSeconds: {
      description: "Per-request time-out, s",
      allowedPattern: UINT(2),
      default: String(DEFAULTS.requestTimeoutSeconds),
    },
  },
};

/** The script's whole input and its time bound: every attempt may take its time-out and the interval. */
export function healthCheckRun(
  target: { readonly port: number; readonly healthPath: string },
  p: HealthCheckParams,
): { parameters: Record<string, string>; timeoutMs: number } {
  const v = healthCheckParams.parse(p);
  return {
    parameters: {
      port: String(target.port),
      healthPath: target.healthPath,
      attempts: String(v.attempts),
      intervalSeconds: String(v.intervalSeconds),
      requestTimeoutSeconds: String(v.requestTimeoutSeconds),
    },
    timeoutMs: (v.attempts * (v.intervalSeconds + v.requestTimeoutSeconds + 1) + 15) * 1000,
  };
}

export interface HealthAttempt {
  readonly attempt: number;
  readonly outcome: string;
  readonly status: number | null;
  readonly latencyMs: number | null;
}

/** Reads check-health.sh output: one line per attempt, then `recovered=`. */
export function parseHealthChecks(text: string): { attempts: HealthAttempt[]; recovered: boolean } {
  const attempts: HealthAttempt[] = [];
  let recovered = false;
  for (const line of text.split("\n")) {
    if (line.startsWith("attempt=")) {
      const kv = Object.fromEntries(line.split(" ").map((p) => p.split("=") as [string, string]));
      attempts.push({
        attempt: Number(kv.attempt),
        outcome: kv.outcome ?? "error",
        status: kv.status && kv.status !== "000" ? Number(kv.status) : null,
        latencyMs: kv.latencyMs ? Number(kv.latencyMs) : null,
      });
    } else if (line.trim() === "recovered=true") recovered = true;
  }
  return { attempts, recovered };
}
