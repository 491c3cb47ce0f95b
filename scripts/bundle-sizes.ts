/**
 * Bundles every Lambda handler with esbuild using the same options as lib/runbook-function.ts
 * (minified ESM for the Lambda runtime's Node.js, source maps, require banner, AWS SDK v3 from the runtime) and prints each bundle's size.
 * Goal: < 1 MB per bundle (code, without the .map). Exit code 1 when one is over.
 *
 *   npx tsx scripts/bundle-sizes.ts [--json]
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { build } from "esbuild";
import { REPO_ROOT } from "../lib/paths.js";
import { BUNDLE_DEFAULTS } from "../lib/runbook-function.js";

export const BUNDLE_LIMIT_BYTES = 1_000_000;
const NOT_HANDLERS = new Set(["wiring", "workflow-wiring", "workflow-port", "instrument", "inputs"]);

export interface BundleSize {
  readonly handler: string;
  readonly bytes: number;
  readonly mapBytes: number;
  readonly ms: number;
}

export function handlerNames(): string[] {
  const dir = join(REPO_ROOT, "lambdas/handlers");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
    .map((f) => basename(f, ".ts"))
    .filter((n) => !NOT_HANDLERS.has(n))
    .sort();
}

export async function measureBundles(): Promise<BundleSize[]> {
  const out = mkdtempSync(join(tmpdir(), "runbook-bundles-"));
  try {
    const sizes: BundleSize[] = [];
    for (const handler of handlerNames()) {
      const started = performance.now();
      const outfile = join(out, handler, "index.mjs");
      await build({
        entryPoints: [join(REPO_ROOT, "lambdas/handlers", `${handler}.ts`)],
        outfile,
        bundle: true,
        platform: "node",
        format: BUNDLE_DEFAULTS.format,
        target: BUNDLE_DEFAULTS.target,
        minify: BUNDLE_DEFAULTS.minify,
        sourcemap: BUNDLE_DEFAULTS.sourceMap,
        mainFields: [...BUNDLE_DEFAULTS.mainFields],
        banner: { js: BUNDLE_DEFAULTS.banner },
        external: [...BUNDLE_DEFAULTS.externalModules],
        logLevel: "error",
      });
      sizes.push({
        handler,
        bytes: statSync(outfile).size,
        mapBytes: statSync(`${outfile}.map`).size,
        ms: Math.round(performance.now() - started),
      });
    }
    return sizes;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const isMain = process.argv[1] && import.meta.url.endsWith(basename(process.argv[1]));
if (isMain) {
  const sizes = await measureBundles();
  if (process.argv.includes("--json")) {
    console.log(JSON.stringify(sizes, null, 2));
  } else {
    const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
    for (const s of sizes) {
      const flag = s.bytes > BUNDLE_LIMIT_BYTES ? "  OVER 1 MB" : "";
      console.log(
        `${s.handler.padEnd(20)} ${kb(s.bytes).padStart(12)}  (map ${kb(s.mapBytes)}, ${s.ms} ms)${flag}`,
      );
    }
  }
  process.exitCode = sizes.some((s) => s.bytes > BUNDLE_LIMIT_BYTES) ? 1 : 0;
}
