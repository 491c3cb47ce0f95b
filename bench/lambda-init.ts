/**
 * Benchmark 8 (issue 14): Lambda init. Each handler is bundled as the construct bundles it
 * (lib/lambda-bundle.ts, with the runbooks folder next to the code), then loaded by a fresh Node
 * process the way the Lambda runtime loads an `index.cjs` handler (`require`, with the functions'
 * NODE_OPTIONS: source maps on, so the bundle's map is read too), which prints how long that took: the
 * module-load share of a cold start (the Lambda runtime adds its own start). Median of RUNS per
 * handler (9: a median of 5 moved by ±30 ms between runs on a shared 2-core machine); target < 150
 * ms. The bundle sizes are benchmark 5 (target < 500 KB each since issue 14; the hard limit stays 1 MB).
 *
 * The bundles are written under the repository (a temporary `.bench-lambdas-*` folder, removed after)
 * so that `@aws-sdk/*`, external as on Lambda, resolves from node_modules as the runtime's copy would.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../lambdas/adapters/local/package-root.js";
import { bundleLambda, LAMBDA_NODE_OPTIONS } from "../lib/lambda-bundle.js";
import { handlerEntry } from "../lib/paths.js";
import { bundleSdkImports, handlerNames } from "../scripts/bundle-sizes.js";
import { loadAvg } from "./side-by-side.js";
import { bounded, info, median, ms, type Row } from "./table.js";

const ROOT = packageRoot();
const RUNS = 9;
export const LAMBDA_INIT_LIMIT_MS = 150;

/** Loads a bundle as the runtime's handler lookup loads `index.cjs` (CommonJS: `require`). */
const LOAD = `const t = performance.now(); require(process.argv[1]); process.stdout.write(String(performance.now() - t));`;
/** The same, for several modules loaded together (the AWS SDK clients a bundle names), from the repository. */
const LOAD_ALL = `const t = performance.now(); for (const m of process.argv.slice(1)) require(m); process.stdout.write(String(performance.now() - t));`;

/**
 * `node`: the binary that loads the bundles (bench/run.ts: Node 24 from test/runtime-node, or
 * `--lambda-node PATH`). Its version is printed: the functions run nodejs24.x (Node 20 and 24 loaded the same bundles
 * within the run-to-run noise of each other here, docs/benchmarks.md).
 */
export async function benchLambdaInit(log: (s: string) => void, node = process.execPath): Promise<Row[]> {
  const version = spawnSync(node, ["--version"], { encoding: "utf8", timeout: 30_000 });
  if (version.status !== 0 || !/^v\d+\./.test(version.stdout))
    throw new Error(
      `--lambda-node: ${node} is not a node binary that runs (${version.error?.message ?? version.stderr.trim()})`,
    );
  const nodeVersion = version.stdout.trim();
  const out = mkdtempSync(join(ROOT, ".bench-lambdas-"));
  try {
    const rows: Row[] = [];
    rows.push(
      info("8 Lambda init", "Node that loads the bundles (the functions run nodejs24.x)", nodeVersion),
    );
    for (const handler of handlerNames()) {
      const file = bundleLambda(join(out, handler), {
        entry: handlerEntry(handler),
        runbooksDir: join(ROOT, "runbooks"),
      });
      const times: number[] = [];
      const sdkTimes: number[] = [];
      const loads: number[] = [];
      const sdk = bundleSdkImports(handler);
      // Handlers read their settings at first use, not at import; a region keeps the SDK quiet. The
      // functions' NODE_OPTIONS, as on Lambda: with source maps on, Node reads the bundle's map at load.
      const run = (args: string[], what: string) => {
        const r = spawnSync(node, ["-e", ...args], {
          encoding: "utf8",
          timeout: 30_000,
          cwd: ROOT,
          env: { ...process.env, AWS_REGION: "eu-west-1", NODE_OPTIONS: LAMBDA_NODE_OPTIONS },
        });
        if (r.status !== 0) throw new Error(`load of ${what} failed: ${r.stderr.trim().slice(-300)}`);
        return Number(r.stdout);
      };
      for (let i = 0; i < RUNS; i++) {
        loads.push(loadAvg());
        times.push(run([LOAD, file], handler));
        // Interleaved with the bundle's runs: the share of its load that is the SDK clients alone.
        if (sdk.length > 0) sdkTimes.push(run([LOAD_ALL, ...sdk], `${handler}'s SDK clients`));
      }
      log(
        `lambda init: ${handler} ${times.map((t) => Math.round(t)).join(", ")} ms (SDK alone ${sdkTimes.map((t) => Math.round(t)).join(", ")} ms)`,
      );
      rows.push(
        bounded(
          "8 Lambda init",
          `${handler}: load of the bundle (require, source maps on), median of ${RUNS} (load ${median(loads).toFixed(1)})`,
          median(times),
          LAMBDA_INIT_LIMIT_MS,
          ms,
        ),
        info(
          "8 Lambda init",
          `  of which the AWS SDK clients alone (${sdk.map((m) => m.replace("@aws-sdk/client-", "")).join(", ") || "none"}), median`,
          sdkTimes.length > 0 ? ms(median(sdkTimes)) : "-",
        ),
        // What the bundle adds to its SDK clients (our code, Powertools, zod, the map), run by run: the part
        // this repository controls, steadier than the total on a shared machine (docs/benchmarks.md).
        info(
          "8 Lambda init",
          "  the bundle beyond its SDK clients (run by run), median",
          sdkTimes.length > 0 ? ms(median(times.map((t, i) => t - (sdkTimes[i] ?? 0)))) : "-",
        ),
      );
    }
    return rows;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
