/**
 * Bundles every Lambda handler with the call the construct makes at synth time (lib/lambda-bundle.ts:
 * minified ESM for the Lambda runtime's Node.js, source maps, require banner, AWS SDK v3 from the runtime) and prints each bundle's size.
 * Goal: < 1 MB per bundle (code, without the .map). Exit code 1 when one is over.
 *
 *   npx tsx scripts/bundle-sizes.ts [--json]
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { bundleLambda } from "../lib/lambda-bundle.js";
import { HANDLERS_DIR, handlerEntry } from "../lib/paths.js";

export const BUNDLE_LIMIT_BYTES = 1_000_000;
const NOT_HANDLERS = new Set([
  "wiring",
  "wiring-fleet",
  "wiring-sfn",
  "workflow-wiring",
  "instrument",
  "inputs",
]);

export interface BundleSize {
  readonly handler: string;
  readonly bytes: number;
  readonly mapBytes: number;
  readonly ms: number;
}

export function handlerNames(): string[] {
  return readdirSync(HANDLERS_DIR)
    .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith(".d.ts"))
    .map((f) => basename(basename(f, ".ts"), ".js"))
    .filter((n) => !NOT_HANDLERS.has(n))
    .sort();
}

export async function measureBundles(): Promise<BundleSize[]> {
  const out = mkdtempSync(join(tmpdir(), "runbook-bundles-"));
  try {
    const sizes: BundleSize[] = [];
    for (const handler of handlerNames()) {
      const started = performance.now();
      const outfile = bundleLambda(join(out, handler), { entry: handlerEntry(handler) });
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
