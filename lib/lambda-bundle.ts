import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join, sep } from "node:path";
import { type BuildOptions, buildSync } from "esbuild";
import { HTML_TEMPLATE, MARKDOWN_TEMPLATE, PARTIALS_DIR } from "../lambdas/adapters/local/template-loader.js";
import { parsePostmortemKnowledge } from "../lambdas/core/postmortem/knowledge.js";
import {
  type PostmortemTemplates,
  precompilePostmortemTemplates,
} from "../lambdas/core/postmortem/render-postmortem.js";
import { parseRunbook } from "../lambdas/core/runbook/load.js";
import { bundledKnowledgeFile, bundledTemplatesFile } from "../lambdas/workflows/bundled-postmortem.js";
import { bundledRunbookFile } from "../lambdas/workflows/bundled-runbook.js";

/** ESM bundles still meet CommonJS dependencies that call `require`: give them one (the CLI's bundle, scripts/build.ts). */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __runbookCreateRequire } from 'module'; const require = __runbookCreateRequire(import.meta.url);";

/**
 * The CommonJS bundle's first lines. A CommonJS file has no `import.meta`: our modules that find files
 * next to themselves (package-root.ts) read `import.meta.url`, defined as the URL of the bundle file
 * itself. "use strict" first: the ES module bundle was strict (a module always is), and esbuild's own
 * "use strict" comes after the banner, where it is no longer a directive.
 */
export const CJS_IMPORT_META_BANNER =
  "\"use strict\";\nconst __runbookImportMetaUrl = require('node:url').pathToFileURL(__filename).href;";

/**
 * The NODE_OPTIONS every runbook function runs with (lib/runbook-function.ts), and bench 8 loads the
 * bundles with: stack traces in the logs point into our TypeScript sources through the bundle's map.
 */
export const LAMBDA_NODE_OPTIONS = "--enable-source-maps";

/**
 * The bundle's file name. `.cjs`: the Lambda runtime loads it with `require`, and Node treats it as
 * CommonJS whatever package.json is above it (a CDK app's `"type": "module"` included). The runtime's
 * handler lookup tries `index`, `index.js`, `index.mjs`, then `index.cjs`, so nothing else is written
 * under those names.
 */
export const LAMBDA_BUNDLE_FILE = "index.cjs";

/** The esbuild options every runbook Lambda is bundled with (also measured by scripts/bundle-sizes.ts). */
export const BUNDLE_DEFAULTS = {
  minify: true,
  /**
   * Keep non-ASCII text as UTF-8 (Node reads it natively): esbuild's default escapes each such
   * character as \\uXXXX, which cost ~70 KB per workflow bundle (zod's locales, our own prose).
   */
  charset: "utf8",
  /**
   * A source map beside the bundle, for stack traces in the function's logs (`LAMBDA_NODE_OPTIONS`).
   * Positions only, as the CLI's (scripts/build.ts): the sources are in the package and the repository,
   * and Node reads and parses the whole map when it loads the bundle. Verify's map with the sources is
   * 1.87 MB (8-11 ms to read and parse), without them 0.56 MB (1.3-1.6 ms); docs/benchmarks.md.
   */
  sourceMap: true,
  sourcesContent: false,
  target: "node24",
  /**
   * CommonJS, so that the runtime's AWS SDK (CommonJS packages) is loaded with `require`. From an ES
   * module each `@aws-sdk/*` import goes through Node's ESM loader, which lexes the CommonJS sources for
   * their export names: 26-45 % of every handler's load (bench 8, docs/benchmarks.md). Our sources stay
   * ES modules: esbuild tree-shakes them the same way, so the bundles are the same size.
   */
  format: "cjs",
  mainFields: ["module", "main"],
  banner: CJS_IMPORT_META_BANNER,
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
    sourcesContent: BUNDLE_DEFAULTS.sourcesContent,
    mainFields: [...BUNDLE_DEFAULTS.mainFields],
    banner: { js: BUNDLE_DEFAULTS.banner },
    external: o.bundleAwsSdk ? [] : [...BUNDLE_DEFAULTS.externalModules],
    // The Lambdas read their runbook and postmortem knowledge from the JSON and their templates from the
    // precompiled module written below (lambdas/workflows/bundled-runbook.ts, bundled-postmortem.ts): the
    // source branch is dead code in a bundle, so neither yaml nor Handlebars' compiler is bundled.
    define: {
      "process.env.RUNBOOK_LAMBDA_BUNDLE": JSON.stringify("1"),
      "import.meta.url": "__runbookImportMetaUrl",
    },
    logLevel: "error",
  } satisfies BuildOptions;
}

/**
 * Bundles one Lambda handler into `outDir` (`index.cjs` + `index.cjs.map`, and `runbooks/`), in process
 * with esbuild's API: no Docker, no `npx esbuild`, no lock file or project root to find. The same call
 * serves the construct at synth time (from source or from an installed package's `dist/`) and the bundle
 * size benchmark. Returns the written code file.
 */
export function bundleLambda(outDir: string, o: LambdaBundleOptions): string {
  const outfile = join(outDir, LAMBDA_BUNDLE_FILE);
  buildSync(lambdaBuildOptions(o, outfile));
  if (o.runbooksDir) {
    const target = join(outDir, "runbooks");
    mkdirSync(target, { recursive: true });
    cpSync(o.runbooksDir, target, { recursive: true });
    for (const [name, text] of Object.entries(o.runbookFiles ?? {})) writeFileSync(join(target, name), text);
    writeBundledRunbooks(target);
    writeBundledPostmortem(target);
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

/** The template texts of a `templates/` folder, read synchronously (the construct bundles in CDK's sync `tryBundle`). */
function readTemplatesSync(dir: string): PostmortemTemplates {
  const partialsDir = join(dir, PARTIALS_DIR);
  const partials = existsSync(partialsDir)
    ? readdirSync(partialsDir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".hbs"))
    : [];
  return {
    markdown: readFileSync(join(dir, MARKDOWN_TEMPLATE), "utf8"),
    html: readFileSync(join(dir, HTML_TEMPLATE), "utf8"),
    partials: Object.fromEntries(
      partials
        .sort()
        .map((f) => [
          f.slice(0, -".hbs".length).split(sep).join("/"),
          readFileSync(join(partialsDir, f), "utf8"),
        ]),
    ),
  };
}

/**
 * The postmortem's knowledge and templates of a bundle's runbooks folder, made ready now so that the
 * WritePostmortem Lambda carries neither the YAML parser nor Handlebars' compiler: `postmortem/knowledge.yaml`
 * validated and written next to it as `knowledge.json`, the templates and partials precompiled into
 * `templates/postmortem.templates.mjs` (lambdas/workflows/bundled-postmortem.ts reads both). A knowledge
 * file that does not validate, or a template that does not compile, stops the synth here, naming the file.
 */
export function writeBundledPostmortem(dir: string): string[] {
  const written: string[] = [];
  const knowledgeYaml = join(dir, "postmortem", "knowledge.yaml");
  if (existsSync(knowledgeYaml)) {
    let knowledge: ReturnType<typeof parsePostmortemKnowledge>;
    try {
      knowledge = parsePostmortemKnowledge(readFileSync(knowledgeYaml, "utf8"), knowledgeYaml);
    } catch (e) {
      throw new Error(`runbook-autopilot: cannot bundle postmortem/knowledge.yaml: ${(e as Error).message}`);
    }
    writeFileSync(bundledKnowledgeFile(dir), JSON.stringify(knowledge));
    written.push(bundledKnowledgeFile(dir));
  }
  const templatesDir = join(dir, "templates");
  if (existsSync(join(templatesDir, MARKDOWN_TEMPLATE))) {
    let source: ReturnType<typeof precompilePostmortemTemplates>;
    try {
      source = precompilePostmortemTemplates(readTemplatesSync(templatesDir));
    } catch (e) {
      throw new Error(
        `runbook-autopilot: cannot bundle the templates in ${templatesDir}: ${(e as Error).message}`,
      );
    }
    const set = (t: (typeof source)["markdown"]) =>
      `{main:${t.main},partials:{${Object.entries(t.partials)
        .map(([name, spec]) => `${JSON.stringify(name)}:${spec}`)
        .join(",")}}}`;
    const code = `// Precompiled at synth by runbook-autopilot (lib/lambda-bundle.ts) from templates/: do not edit.\nexport default {markdown:${set(source.markdown)},html:${set(source.html)}};\n`;
    writeFileSync(bundledTemplatesFile(dir), code);
    written.push(bundledTemplatesFile(dir));
  }
  return written;
}
