import type { Runbook } from "../core/runbook/schema.js";
import { type RunSettings, resolveRunSettings, settingsFromEnv } from "../core/settings/run-settings.js";
import { DEFAULT_RUNBOOKS_DIR, loadLambdaRunbook } from "../workflows/bundled-runbook.js";
import { fromEnv } from "./parse.js";

let cached: Promise<RunSettings> | null = null;
let cachedDoc: Promise<Runbook> | null = null;

/** The runbook bundled with this Lambda (RUNBOOKS_DIR, RUNBOOK_ID: resolved with the override at synth), read once. */
export function bundledRunbook(): Promise<Runbook> {
  cachedDoc ??= loadLambdaRunbook(
    process.env.RUNBOOK_ID ?? "api-unreachable",
    process.env.RUNBOOKS_DIR ?? DEFAULT_RUNBOOKS_DIR,
  );
  return cachedDoc;
}

/**
 * This Lambda's run settings: the runbook bundled with it (RUNBOOKS_DIR, RUNBOOK_ID), then the
 * construct's layer from the environment; resolved once per container (lambdas/core/settings).
 */
export function runSettings(): Promise<RunSettings> {
  cached ??= (async () => {
    return resolveRunSettings(
      await bundledRunbook(),
      fromEnv(() => settingsFromEnv(process.env)),
    );
  })();
  return cached;
}
