import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import * as z from "zod";
import { TemplateLoadError } from "../core/postmortem/errors.js";
import {
  checkPostmortemKnowledge,
  KnowledgeError,
  type PostmortemKnowledge,
} from "../core/postmortem/knowledge-schema.js";
import type { CompiledPostmortemTemplates, TemplateSpec } from "../core/postmortem/render-compiled.js";

/** What the postmortem state renders with: the compiled templates and the class knowledge. */
export interface PostmortemAssets {
  readonly templates: CompiledPostmortemTemplates;
  readonly knowledge: PostmortemKnowledge;
}

/**
 * The files a Lambda bundle reads the postmortem from, written at synth by lib/lambda-bundle.ts from the
 * runbooks folder: the knowledge validated and written as JSON next to its YAML (no YAML parser in the
 * bundle, ~112 KiB), and the templates precompiled into a module next to them (no Handlebars compiler,
 * ~100 KiB).
 */
export const bundledKnowledgeFile = (runbooksDir: string) =>
  join(runbooksDir, "postmortem", "knowledge.json");
export const bundledTemplatesFile = (runbooksDir: string) =>
  join(runbooksDir, "templates", "postmortem.templates.mjs");

/** Reads the bundled knowledge JSON and validates it again (zod at the boundary: the file is only data). */
export async function loadBundledKnowledge(runbooksDir: string): Promise<PostmortemKnowledge> {
  const path = bundledKnowledgeFile(runbooksDir);
  let data: unknown;
  try {
    data = JSON.parse(await readFile(path, "utf8"));
  } catch (e) {
    throw new KnowledgeError(
      `no bundled postmortem knowledge: ${path} (written at synth by lib/lambda-bundle.ts from postmortem/knowledge.yaml) could not be read: ${(e as Error).message}`,
    );
  }
  return checkPostmortemKnowledge(data, path);
}

// Handlebars' `template()` checks the compiler revision itself; here, that it is a compiled template at all.
const specSchema = z.looseObject({
  compiler: z.array(z.unknown()).min(1),
  main: z.custom<(...args: never[]) => unknown>((v) => typeof v === "function", "expected a function"),
});
const compiledSchema = z.strictObject({ main: specSchema, partials: z.record(z.string(), specSchema) });
const compiledTemplatesSchema = z.strictObject({ markdown: compiledSchema, html: compiledSchema });

/** Imports the bundled precompiled templates and checks their shape (each a compiled Handlebars template). */
export async function loadBundledTemplates(runbooksDir: string): Promise<CompiledPostmortemTemplates> {
  const path = bundledTemplatesFile(runbooksDir);
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(path).href)) as { default?: unknown };
  } catch (e) {
    throw new TemplateLoadError(
      `no bundled postmortem templates: ${path} (written at synth by lib/lambda-bundle.ts from templates/) could not be imported: ${(e as Error).message}`,
    );
  }
  const checked = compiledTemplatesSchema.safeParse(module.default);
  if (!checked.success) {
    const first = checked.error.issues[0];
    throw new TemplateLoadError(
      `bundled postmortem templates ${path} are invalid: ${first?.path.join(".") || "(default export)"}: ${first?.message ?? "invalid"}`,
    );
  }
  // Checked above: each is a compiled template object, which is all `template()` takes.
  return checked.data as unknown as CompiledPostmortemTemplates<TemplateSpec>;
}

/**
 * The postmortem's templates and knowledge in a runbooks folder: the one place that decides how the
 * Lambdas load them. In a Lambda bundle (lib/lambda-bundle.ts defines RUNBOOK_LAMBDA_BUNDLE as "1"), what
 * the bundler made at synth; esbuild drops the other branch and with it the YAML parser and Handlebars'
 * compiler. From source (the tests, the local state machine runs) the YAML and the template texts.
 */
export function loadLambdaPostmortem(runbooksDir: string): Promise<PostmortemAssets> {
  // One expression, as in bundled-runbook.ts: esbuild leaves out what only the dead branch imports.
  return process.env.RUNBOOK_LAMBDA_BUNDLE === "1"
    ? Promise.all([loadBundledTemplates(runbooksDir), loadBundledKnowledge(runbooksDir)]).then(
        ([templates, knowledge]) => ({ templates, knowledge }),
      )
    : import("./postmortem.js").then((m) => m.loadPostmortemSources(runbooksDir));
}
