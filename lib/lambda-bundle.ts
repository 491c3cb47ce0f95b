import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { type BuildOptions, buildSync } from "esbuild";
import { parseRunbook } from "../lambdas/core/runbook/load.js";
import { bundledRunbookFile } from "../lambdas/workflows/bundled-runbook.js";

/** ESM bundles still meet CommonJS dependencies that call `require`: give them one. */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __runbookCreateRequire } from 'module'; const require = __runbookCreateRequire(import.meta.url);";

/** The esbuild options every runbook Lambda is bundled with (also measured by scripts/bundle-sizes.ts). */
export const BUNDLE_DEFAULTS = {
  minify: true,
  /**
   * Keep non-ASCII text as UTF-8 (Node reads it natively): esbuild's default escapes each such
   * character as \\uXXXX, which cost ~70 KB per workflow bundle (zod's locales, our own prose).
   */
  charset: "utf8",
  sourceMap: true,
  target: "node24",
  format: "esm",
  mainFields: ["module", "main"],
  banner: ESM_REQUIRE_BANNER,
  /**
   * The AWS SDK v3 comes from the Lambda runtime (nodejs24.x ships it): bundling it puts EC2's
   * client alone at ~550 KB and every handler over 1 MB. `bundleAwsSdk: true` pins the locked version instead.
   */
  externalModules: ["@aws-sdk/*"],
} as const;

export interface LambdaBundleOptions {
  /** The handler's entry: `lambdas/handlers/<name>.ts` in a checkout, `dist/lambdas/handlers/<name>.js` installed. */
  readonly entry: string;
  /** Bundle the AWS SDK v3 instead of using the runtime's copy. @default false */
  readonly bundleAwsSdk?: boolean;
  /** A `runbooks/` folder copied next to the code (the workflows read the YAML and templates at cold start). */
  readonly runbooksDir?: string;
  /** Files written into the copied runbooks folder after the copy (the resolved runbook). @default {} */
  readonly runbookFiles?: Readonly<Record<string, string>>;
}

/**
 * The esbuild options of one handler's bundle: what bundleLambda builds, and what the bundle-size tests
 * and bench build with `metafile: true` to say which modules a bundle carries.
 *
 * No plugins: the construct bundles synchronously (CDK's `tryBundle`), and esbuild's `buildSync` takes
 * none. zod's locales stay out by tree-shaking instead (every module imports `* as z`, biome.json).
 */
export function lambdaBuildOptions(o: Pick<LambdaBundleOptions, "entry" | "bundleAwsSdk">, outfile: string) {
  return {
    entryPoints: [o.entry],
    outfile,
    bundle: true,
    platform: "node",
    format: BUNDLE_DEFAULTS.format,
    target: BUNDLE_DEFAULTS.target,
    minify: BUNDLE_DEFAULTS.minify,
    charset: BUNDLE_DEFAULTS.charset,
    sourcemap: BUNDLE_DEFAULTS.sourceMap,
    mainFields: [...BUNDLE_DEFAULTS.mainFields],
    banner: { js: BUNDLE_DEFAULTS.banner },
    external: o.bundleAwsSdk ? [] : [...BUNDLE_DEFAULTS.externalModules],
    // The Lambdas read their runbook from the JSON written below (lambdas/workflows/bundled-runbook.ts):
    // the YAML branch is dead code in a bundle, so neither it nor the yaml package is bundled.
    define: { "process.env.RUNBOOK_LAMBDA_BUNDLE": JSON.stringify("1") },
    logLevel: "error",
  } satisfies BuildOptions;
}

/**
 * Bundles one Lambda handler into `outDir` (`index.mjs` + `index.mjs.map`, and `runbooks/`), in process
 * with esbuild's API: no Docker, no `npx esbuild`, no lock file or project root to find. The same call
 * serves the construct at synth time (from source or from an installed package's `dist/`) and the bundle
 * size benchmark. Returns the written code file.
 */
export function bundleLambda(outDir: string, o: LambdaBundleOptions): string {
  const outfile = join(outDir, "index.mjs");
  buildSync(lambdaBuildOptions(o, outfile));
  if (o.runbooksDir) {
    const target = join(outDir, "runbooks");
    mkdirSync(target, { recursive: true });
    cpSync(o.runbooksDir, target, { recursive: true });
    for (const [name, text] of Object.entries(o.runbookFiles ?? {})) writeFileSync(join(target, name), text);
    writeBundledRunbooks(target);
  }
  return outfile;
}

/**
 * Each runbook of a bundle's runbooks folder (`<id>.yaml` at its top) parsed and validated now, and written
 * next to it as `<id>.runbook.json`: what the Lambdas read (lambdas/workflows/bundled-runbook.ts), so they
 * carry no YAML parser. A runbook that does not validate stops the synth here, naming the file.
 */
export function writeBundledRunbooks(dir: string): string[] {
  const written: string[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".yaml"))) {
    const path = join(dir, file);
    const parsed = parseRunbook(readFileSync(path, "utf8"), path);
    if (!parsed.ok) throw new Error(`runbook-autopilot: cannot bundle ${file}: ${parsed.error.message}`);
    const out = bundledRunbookFile(dir, basename(file, ".yaml"));
    writeFileSync(out, JSON.stringify(parsed.value));
    written.push(out);
  }
  return written;
}
