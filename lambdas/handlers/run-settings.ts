import { type RunSettings, resolveRunSettings, settingsFromEnv } from "../core/settings/run-settings.js";
import { DEFAULT_RUNBOOKS_DIR, loadRunbookDoc } from "../workflows/runbook-files.js";

let cached: Promise<RunSettings> | null = null;

/**
 * This Lambda's run settings: the runbook bundled with it (RUNBOOKS_DIR, RUNBOOK_ID), then the
 * construct's layer from the environment; resolved once per container (lambdas/core/settings).
 */
export function runSettings(): Promise<RunSettings> {
  cached ??= (async () => {
    const doc = await loadRunbookDoc(
      process.env.RUNBOOK_ID ?? "api-unreachable",
      process.env.RUNBOOKS_DIR ?? DEFAULT_RUNBOOKS_DIR,
    );
    return resolveRunSettings(doc, settingsFromEnv(process.env));
  })();
  return cached;
}
