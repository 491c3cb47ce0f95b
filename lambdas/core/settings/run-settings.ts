import * as z from "zod";
import { type Mode, modeSchema } from "../incident/schema.js";
import type { ProbeSettings, Runbook } from "../runbook/schema.js";

/**
 * The settings of one run, resolved in one place for the CLI and every Lambda: the runbook YAML first
 * (the only home of every default: mode, cooldown, probe and verification settings), then the
 * construct's props as the Lambdas' environment, then the operator's CLI options. Later layers win;
 * a layer says only what it sets. Pure.
 */
export interface RunSettings {
  /** Mode when the run's input does not say (an alarm, `runbook run` without --mode). */
  readonly mode: Mode;
  /** No second mitigation of a target within this window (the target lock's time to live). */
  readonly cooldownSeconds: number;
  readonly probe: ProbeSettings;
  readonly verify: { readonly attempts: number; readonly intervalSeconds: number };
}

/** What a layer (construct/environment, CLI) may set. Absent: the layer below decides. */
export interface SettingsLayer {
  readonly mode?: Mode | undefined;
  readonly cooldownSeconds?: number | undefined;
  readonly probeTimeoutSeconds?: number | undefined;
  /** `--idle-threshold-seconds`: the probe's idle threshold (the kill rung follows it: cli/wiring.ts). */
  readonly idleThresholdSeconds?: number | undefined;
}

export function resolveRunSettings(
  doc: Runbook,
  ...layers: readonly (SettingsLayer | undefined)[]
): RunSettings {
  let s: RunSettings = {
    mode: doc.mitigation.defaults.mode,
    cooldownSeconds: doc.mitigation.defaults.cooldownSeconds,
    probe: doc.probe,
    verify: { attempts: doc.verify.attempts, intervalSeconds: doc.verify.intervalSeconds },
  };
  for (const l of layers) {
    if (!l) continue;
    s = {
      ...s,
      mode: l.mode ?? s.mode,
      cooldownSeconds: l.cooldownSeconds ?? s.cooldownSeconds,
      probe: {
        ...s.probe,
        timeoutSeconds: l.probeTimeoutSeconds ?? s.probe.timeoutSeconds,
        idleThresholdMs:
          l.idleThresholdSeconds === undefined ? s.probe.idleThresholdMs : l.idleThresholdSeconds * 1000,
      },
    };
  }
  return s;
}

/**
 * The construct's layer, as the Lambdas' environment carries it (lib/api-unreachable-runbook.ts sets a
 * variable only when its prop is given). No defaults here: unset means the runbook's value.
 */
export const settingsEnvSchema = z.object({
  DEFAULT_MODE: modeSchema.optional(),
  COOLDOWN_SECONDS: z.coerce.number().int().min(0).optional(),
  PROBE_TIMEOUT_SECONDS: z.coerce.number().int().min(5).max(3600).optional(),
});

/** Reads the construct's layer from an environment (`process.env` in a Lambda); "" counts as unset. */
export function settingsFromEnv(env: Readonly<Record<string, string | undefined>>): SettingsLayer {
  const set = (name: keyof z.infer<typeof settingsEnvSchema>) => (env[name] === "" ? undefined : env[name]);
  const e = settingsEnvSchema.parse({
    DEFAULT_MODE: set("DEFAULT_MODE"),
    COOLDOWN_SECONDS: set("COOLDOWN_SECONDS"),
    PROBE_TIMEOUT_SECONDS: set("PROBE_TIMEOUT_SECONDS"),
  });
  return {
    mode: e.DEFAULT_MODE,
    cooldownSeconds: e.COOLDOWN_SECONDS,
    probeTimeoutSeconds: e.PROBE_TIMEOUT_SECONDS,
  };
}
