/**
 * `npm run build` (also `prepare`, so `npm ci`, `npm pack` and `npm publish` build): produces dist/.
 *
 * - dist/lib/, dist/lambdas/: `tsc -p tsconfig.build.json` — JavaScript, .d.ts and source maps of the
 *   constructs and of the Lambda code (the construct bundles the handlers from here at synth time).
 * - dist/cli/runbook.mjs: the `runbook` CLI bundled by esbuild (the package's `bin`), so a cold start
 *   loads one module instead of resolving hundreds; what only some commands need (the SSM runner with the
 *   AWS SDK, which stays external, the postmortem renderer) is split into chunks imported on demand.
 *   The lab command is replaced by a stub (the lab is a repository tool).
 *
 *   npx tsx scripts/build.ts [--cli-only]
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { build, type Plugin } from "esbuild";
import { packageRoot } from "../lambdas/adapters/local/package-root.js";
import { parseRunbook } from "../lambdas/core/runbook/load.js";
import { runbookCacheEntry, runbookCacheFile } from "../lambdas/workflows/runbook-cache.js";
import { ESM_REQUIRE_BANNER } from "../lib/lambda-bundle.js";

const ROOT = packageRoot();
export const CLI_BUNDLE = join(ROOT, "dist/cli/runbook.mjs");

/** The packaged CLI has no lab: commands/lab.js resolves to commands/lab-unavailable.ts. */
const noLab: Plugin = {
  name: "runbook-no-lab",
  setup(b) {
    b.onResolve({ filter: /\/commands\/lab\.js$/ }, () => ({
      path: join(ROOT, "cli/commands/lab-unavailable.ts"),
    }));
  },
};

export async function buildCli(outdir = join(ROOT, "dist/cli")): Promise<void> {
  await bundleCli(outdir, undefined, { lab: false });
  // `runbook --help` is answered by cli/bin.ts without loading the commands: the text is the packaged
  // CLI's own help, captured from this first bundle and built into the second.
  const help = spawnSync(process.execPath, [join(outdir, "runbook.mjs"), "--help"], {
    encoding: "utf8",
    env: { ...process.env, COLUMNS: "80" },
    timeout: 60_000,
  });
  if (help.status !== 0 || !help.stdout.includes("Usage: runbook"))
    throw new Error(`the bundled CLI's --help failed (exit ${help.status}): ${help.stderr.slice(0, 300)}`);
  await bundleCli(outdir, help.stdout, { lab: false });
}

/**
 * The CLI the repository's own tests run (test/support/global-setup.ts builds it at the start of every
 * vitest run, so it is never stale): the same bundle as the package's, plus the lab command, and its
 * help from commander. Through tsx every CLI start compiled hundreds of modules: about 1.5 s of wall
 * time and 1 s of CPU per start, and the suite starts the CLI a few hundred times.
 */
export const TEST_CLI_DIR = join(ROOT, ".build/test-cli");
export async function buildTestCli(outdir = TEST_CLI_DIR): Promise<string> {
  await bundleCli(outdir, undefined, { lab: true });
  return join(outdir, "runbook.mjs");
}

async function bundleCli(outdir: string, help: string | undefined, opts: { lab: boolean }): Promise<void> {
  rmSync(outdir, { recursive: true, force: true });
  await build({
    entryPoints: { runbook: join(ROOT, "cli/bin.ts") },
    outdir,
    outExtension: { ".js": ".mjs" },
    // Dynamic imports (the commands, the SSM runner and its SDK client, the postmortem renderer) become
    // chunks loaded only when needed: `--version` and `--help` load runbook.mjs and package-root alone.
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    minify: true,
    // Positions only (stack traces under --enable-source-maps): the sources would triple the package.
    sourcemap: true,
    sourcesContent: false,
    // The SDK is big and only needed for `--target ssm:`; it is a dependency, imported on demand.
    external: ["@aws-sdk/*"],
    banner: { js: `#!/usr/bin/env node\n${ESM_REQUIRE_BANNER}` },
    define: help === undefined ? {} : { __RUNBOOK_HELP__: JSON.stringify(help) },
    // zod's locales stay out by tree-shaking: every module imports zod by name or as `* as z` (biome.json),
    // and cli/zod-jitless.ts keeps the one dynamic import from taking zod's whole namespace.
    plugins: opts.lab ? [] : [noLab],
    logLevel: "error",
  });
  chmodSync(join(outdir, "runbook.mjs"), 0o755);
  writeRunbookCache(join(outdir, "runbooks"));
}

/**
 * Each packaged runbook (runbooks/<id>.yaml) parsed and validated now and written next to the CLI as
 * `runbooks/<id>.runbook.json` (lambdas/workflows/runbook-cache.ts): the CLI reads it instead of parsing
 * the YAML while the YAML is unchanged. A runbook that does not validate stops the build, naming the file.
 */
function writeRunbookCache(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const source = join(ROOT, "runbooks");
  for (const file of readdirSync(source).filter((f) => f.endsWith(".yaml"))) {
    const text = readFileSync(join(source, file), "utf8");
    const parsed = parseRunbook(text, join(source, file));
    if (!parsed.ok) throw new Error(`build: cannot cache runbooks/${file}: ${parsed.error.message}`);
    writeFileSync(runbookCacheFile(dir, basename(file, ".yaml")), runbookCacheEntry(text, parsed.value));
  }
}

function buildLibraries(): void {
  const tsc = join(ROOT, "node_modules/typescript/bin/tsc");
  const r = spawnSync(process.execPath, [tsc, "-p", join(ROOT, "tsconfig.build.json")], { stdio: "inherit" });
  if (r.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed (exit ${r.status})`);
}

const isMain = process.argv[1] && import.meta.url.endsWith(basename(process.argv[1]));
if (isMain) {
  const cliOnly = process.argv.includes("--cli-only");
  const started = performance.now();
  if (!cliOnly) {
    rmSync(join(ROOT, "dist"), { recursive: true, force: true });
    buildLibraries();
  }
  await buildCli();
  const kib = (statSync(CLI_BUNDLE).size / 1024).toFixed(0);
  process.stderr.write(
    `build: dist/ ready in ${((performance.now() - started) / 1000).toFixed(1)} s (CLI bundle ${kib} KiB)\n`,
  );
}
