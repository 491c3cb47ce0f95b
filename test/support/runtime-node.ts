import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../../lib/paths.js";
import { LAMBDA_RUNTIME } from "../../lib/runbook-function.js";

/** Where scripts/setup.sh installs it (also bench 8's default Node for the bundles, bench/run.ts). */
export const RUNTIME_NODE_PATH = join(REPO_ROOT, "test/runtime-node/node_modules/.bin/node");

/**
 * The Node of the Lambda runtime's major (`nodejs24.x`), from test/runtime-node (its own package.json and
 * lock file; scripts/setup.sh installs it): the machines here run Node 20, the functions Node 24. Throws,
 * naming what to do, when it is missing or when its major is not the runtime's (LAMBDA_RUNTIME moved:
 * pin the matching `node-linux-*` version in test/runtime-node/package.json).
 */
export function runtimeNode(): { path: string; version: string } {
  const path = RUNTIME_NODE_PATH;
  if (!existsSync(path))
    throw new Error(`${path} is missing: run scripts/setup.sh (npm ci in test/runtime-node)`);
  const r = spawnSync(path, ["--version"], { encoding: "utf8", timeout: 30_000 });
  const version = r.stdout.trim();
  const want = LAMBDA_RUNTIME.name.match(/^nodejs(\d+)\.x$/)?.[1];
  if (r.status !== 0 || version.split(".")[0] !== `v${want}`)
    throw new Error(
      `${path} prints '${version || r.stderr.trim()}', the functions run ${LAMBDA_RUNTIME.name}: pin node-linux-* ${want}.x in test/runtime-node/package.json`,
    );
  return { path, version };
}
