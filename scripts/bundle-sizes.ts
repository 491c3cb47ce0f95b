/**
 * Bundles every Lambda handler with the call the construct makes at synth time (lib/lambda-bundle.ts:
 * minified CommonJS for the Lambda runtime's Node.js, source maps, AWS SDK v3 from the runtime) and prints each bundle's size.
 * Goal: < 1 MB per bundle (code, without the .map). Exit code 1 when one is over.
 *
 *   npx tsx scripts/bundle-sizes.ts [--json]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { buildSync } from "esbuild";
import { bundleLambda, lambdaBuildOptions } from "../lib/lambda-bundle.js";
import { HANDLERS_DIR, handlerEntry } from "../lib/paths.js";

export const BUNDLE_LIMIT_BYTES = 1_000_000;

export interface BundleSize {
  readonly handler: string;
  readonly bytes: number;
  readonly mapBytes: number;
  readonly ms: number;
  /** The largest parts of the code, by npm package or by folder of ours (esbuild's metafile), largest first. */
  readonly parts: readonly { readonly name: string; readonly bytes: number }[];
}

/** The Lambda handlers: the modules of lambdas/handlers that export `handler` (the wiring and helpers do not). */
export function handlerNames(): string[] {
  return readdirSync(HANDLERS_DIR)
    .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith(".d.ts"))
    .filter((f) =>
      /^export (const|async function|function) handler\b/m.test(readFileSync(join(HANDLERS_DIR, f), "utf8")),
    )
    .map((f) => basename(basename(f, ".ts"), ".js"))
    .sort();
}

/** A handler's bundle built in memory with esbuild's metafile: its one output's entry. */
function bundleMeta(handler: string) {
  const r = buildSync({
    ...lambdaBuildOptions({ entry: handlerEntry(handler) }, join(tmpdir(), "runbook-bundle-parts.cjs")),
    sourcemap: false,
    write: false,
    metafile: true,
  });
  return Object.values(r.metafile.outputs).find((o) => o.entryPoint);
}

/** The `@aws-sdk/*` packages a handler's bundle imports (external: the Lambda runtime's copy), sorted. */
export function bundleSdkImports(handler: string): string[] {
  const imports = bundleMeta(handler)?.imports ?? [];
  return [
    ...new Set(imports.filter((i) => i.external && i.path.startsWith("@aws-sdk/")).map((i) => i.path)),
  ].sort();
}

/** What a handler's bundle is made of: bytes of output per npm package (zod by its v4 part) or folder of ours. */
export function bundleParts(handler: string): { name: string; bytes: number }[] {
  const out = bundleMeta(handler);
  const parts = new Map<string, number>();
  for (const [file, { bytesInOutput }] of Object.entries(out?.inputs ?? {})) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)(\/v4\/[^/]+)?/.exec(file);
    const name = pkg ? `${pkg[1]}${pkg[2] ?? ""}` : file.split("/").slice(-3, -1).join("/");
    parts.set(name, (parts.get(name) ?? 0) + bytesInOutput);
  }
  return [...parts].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
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
        parts: bundleParts(handler),
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
