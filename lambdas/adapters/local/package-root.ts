import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The root of the runbook-autopilot package, wherever the running code sits: the source checkout
 * (`lambdas/adapters/local/`), the compiled `dist/` of an installed package, or the bundled CLI
 * (`dist/cli/runbook.mjs`). Found by walking up to the `package.json` named `runbook-autopilot`, so no
 * module hard-codes how deep it is. Inside a Lambda bundle there is no such file: the fallback (three
 * levels up from here, the source layout) is returned and the caller's env (RUNBOOKS_DIR) decides.
 */
export const PACKAGE_NAME = "runbook-autopilot";

let cached: string | null = null;

export function packageRoot(): string {
  if (cached !== null) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && readName(manifest) === PACKAGE_NAME) {
      cached = dir;
      return dir;
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  cached = fileURLToPath(new URL("../../..", import.meta.url));
  return cached;
}

function readName(manifest: string): string | null {
  try {
    return (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name ?? null;
  } catch {
    return null;
  }
}

/** `runbooks/` of the package: the runbook YAML, probe and action scripts, postmortem templates. */
export const packageRunbooksDir = (): string => join(packageRoot(), "runbooks");

/** The package's version, from its package.json. */
export function packageVersion(): string {
  const text = readFileSync(join(packageRoot(), "package.json"), "utf8");
  return (JSON.parse(text) as { version: string }).version;
}
