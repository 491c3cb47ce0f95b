import Handlebars from "handlebars";
import { TemplateRenderError } from "./errors.js";
import {
  type CompiledPostmortemTemplates,
  type PostmortemOutput,
  renderCompiledPostmortem,
  TEMPLATE_OPTIONS,
  type TemplateSpec,
} from "./render-compiled.js";
import type { Postmortem } from "./schema.js";

export {
  chartSvg,
  escapeMarkdownText,
  escapeTableCell,
  inlineCode,
  type RenderedAsset,
  type RenderedPostmortem,
} from "./render-compiled.js";

/** Template texts, loaded by an adapter (see lambdas/adapters/local/template-loader.ts). */
export interface PostmortemTemplates {
  readonly markdown: string;
  readonly html: string;
  /** Partial name (path under partials/ without `.hbs`, e.g. `md/summary`) -> text. */
  readonly partials: Readonly<Record<string, string>>;
}

const FILE_NAMES: Record<PostmortemOutput, string> = { markdown: "postmortem.md", html: "postmortem.html" };

/**
 * Compiles the template texts to JavaScript source (Handlebars' `precompile`): each output's template and
 * every partial with that output's options (render-compiled.ts). What lib/lambda-bundle.ts writes into a
 * Lambda bundle, and, evaluated, what `renderPostmortem` runs: one compilation for both.
 */
export function precompilePostmortemTemplates(
  templates: PostmortemTemplates,
): CompiledPostmortemTemplates<string> {
  const compile = (output: PostmortemOutput, name: string, text: string): string => {
    try {
      return String(Handlebars.precompile(text, { ...TEMPLATE_OPTIONS[output] }));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new TemplateRenderError(name, message, { cause: error });
    }
  };
  const one = (output: PostmortemOutput) => ({
    main: compile(output, FILE_NAMES[output], templates[output]),
    partials: Object.fromEntries(
      Object.entries(templates.partials).map(([p, text]) => [
        p,
        compile(output, `${FILE_NAMES[output]} (partial ${p})`, text),
      ]),
    ),
  });
  return { markdown: one("markdown"), html: one("html") };
}

// The compiler's output is the object literal `template()` takes; Handlebars' own `compile` evaluates
// its output the same way.
const evaluate = (source: string): TemplateSpec => new Function(`return ${source};`)() as TemplateSpec;

const compiledCache = new WeakMap<PostmortemTemplates, CompiledPostmortemTemplates>();

/** The templates compiled from their texts (once per templates object: they are read-only). */
export function compilePostmortemTemplates(templates: PostmortemTemplates): CompiledPostmortemTemplates {
  let compiled = compiledCache.get(templates);
  if (!compiled) {
    const source = precompilePostmortemTemplates(templates);
    const one = (t: CompiledPostmortemTemplates<string>[PostmortemOutput]) => ({
      main: evaluate(t.main),
      partials: Object.fromEntries(Object.entries(t.partials).map(([p, s]) => [p, evaluate(s)])),
    });
    compiled = { markdown: one(source.markdown), html: one(source.html) };
    compiledCache.set(templates, compiled);
  }
  return compiled;
}

/**
 * Renders the model from the template texts, in Handlebars' strict mode: a template naming a field the
 * model lacks throws (render-compiled.ts renders; this compiles).
 */
export function renderPostmortem(model: Postmortem, templates: PostmortemTemplates) {
  return renderCompiledPostmortem(model, compilePostmortemTemplates(templates));
}
