/**
 * Benchmark 8 (issue 14): Lambda init. Each handler is bundled as the construct bundles it
 * (lib/lambda-bundle.ts, with the runbooks folder next to the code), then imported by a fresh Node
 * process that prints how long `await import(bundle)` took: the module-load share of a cold start
 * (the Lambda runtime adds its own start). Median of RUNS per handler; target < 150 ms. The bundle
 * sizes are benchmark 5 (target < 500 KB each since issue 14; the hard limit stays 1 MB).
 *
 * The bundles are written under the repository (a temporary `.bench-lambdas-*` folder, removed after)
 * so that `@aws-sdk/*`, external as on Lambda, resolves from node_modules as the runtime's copy would.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { packageRoot } from "../lambdas/adapters/local/package-root.js";
import { bundleLambda } from "../lib/lambda-bundle.js";
import { handlerEntry } from "../lib/paths.js";
import { handlerNames } from "../scripts/bundle-sizes.js";
import { loadAvg } from "./side-by-side.js";
import { bounded, median, ms, type Row } from "./table.js";

const ROOT = packageRoot();
const RUNS = 5;
export const LAMBDA_INIT_LIMIT_MS = 150;

const IMPORT = `const t = performance.now(); await import(process.argv[1]); process.stdout.write(String(performance.now() - t));`;

export async function benchLambdaInit(log: (s: string) => void): Promise<Row[]> {
  const out = mkdtempSync(join(ROOT, ".bench-lambdas-"));
  try {
    const rows: Row[] = [];
    for (const handler of handlerNames()) {
      const file = bundleLambda(join(out, handler), {
        entry: handlerEntry(handler),
        runbooksDir: join(ROOT, "runbooks"),
      });
      const times: number[] = [];
      const loads: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        loads.push(loadAvg());
        const r = spawnSync(
          process.execPath,
          ["--input-type=module", "-e", IMPORT, pathToFileURL(file).href],
          // Handlers read their settings at first use, not at import; a region keeps the SDK quiet.
          { encoding: "utf8", timeout: 30_000, env: { ...process.env, AWS_REGION: "eu-west-1" } },
        );
        if (r.status !== 0) throw new Error(`import of ${handler} failed: ${r.stderr.trim().slice(-300)}`);
        times.push(Number(r.stdout));
      }
      log(`lambda init: ${handler} ${times.map((t) => Math.round(t)).join(", ")} ms`);
      rows.push(
        bounded(
          "8 Lambda init",
          `${handler}: import of the bundle, median of ${RUNS} (load ${median(loads).toFixed(1)})`,
          median(times),
          LAMBDA_INIT_LIMIT_MS,
          ms,
        ),
      );
    }
    return rows;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
