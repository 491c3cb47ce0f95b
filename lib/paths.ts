import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { packageRoot, packageRunbooksDir } from "../lambdas/adapters/local/package-root.js";

/**
 * Paths of the package, resolved from the running code, so synth works from any working directory and
 * from an installed package (`node_modules/runbook-autopilot/dist/lib/`) as well as from the source
 * checkout (`lib/`): nothing points into a source checkout that an installed package does not have.
 */
export const REPO_ROOT = packageRoot();

/**
 * A Lambda handler's entry file: the TypeScript source next to this module in a checkout, the compiled
 * JavaScript (`dist/lambdas/handlers/<name>.js`) in an installed package.
 */
export function handlerEntry(name: string): string {
  const ts = fileURLToPath(new URL(`../lambdas/handlers/${name}.ts`, import.meta.url));
  if (existsSync(ts)) return ts;
  const js = fileURLToPath(new URL(`../lambdas/handlers/${name}.js`, import.meta.url));
  if (existsSync(js)) return js;
  throw new Error(`runbook-autopilot: no Lambda handler '${name}' (looked for ${ts} and ${js})`);
}

/** runbooks/ of the package: runbook YAML, probe and action scripts, postmortem templates. */
export const RUNBOOKS_DIR = packageRunbooksDir();
/** The folder of Lambda handlers (source or compiled). */
export const HANDLERS_DIR = fileURLToPath(new URL("../lambdas/handlers/", import.meta.url));
