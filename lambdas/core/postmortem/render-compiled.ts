import HandlebarsRuntime from "handlebars/runtime.js";
import { TemplateRenderError } from "./errors.js";
import { formatBytes, formatCount, formatDateTime, formatDuration, formatTime } from "./format.js";
import type { Charts, Postmortem } from "./schema.js";
import { connectionStatesSvg, fdUsageSvg, idleAgeSvg } from "./svg.js";

/**
 * The postmortem's renderer with Handlebars' runtime-only build: it runs templates already compiled (by
 * render-postmortem.ts from their text, or at synth by lib/lambda-bundle.ts for a Lambda bundle), so neither
 * the template compiler nor source-map is imported here (~100 KiB less in the WritePostmortem bundle).
 */
// The runtime build is the same object as the full one, without `compile`/`precompile` (its typings are empty).
const Handlebars = HandlebarsRuntime as unknown as typeof import("handlebars");
type HandlebarsEnv = typeof Handlebars;
/** A compiled template (Handlebars' `precompile` output, evaluated): what `template()` takes. */
export type TemplateSpec = Parameters<HandlebarsEnv["template"]>[0];

/**
 * The compile options of each output, baked into its templates at compile time. Markdown is compiled with
 * `noEscape` (escaping is explicit: `cell`, `md`, `code` helpers); HTML keeps Handlebars' escaping, and
 * SVGs are inserted with triple braces (already escaped in svg.ts). `trackIds` is a real Handlebars option
 * (it gives helpers `options.ids`) missing from its typings.
 */
export const TEMPLATE_OPTIONS = {
  markdown: { strict: true, noEscape: true, trackIds: true },
  html: { strict: true, noEscape: false, trackIds: true },
} as const;
export type PostmortemOutput = keyof typeof TEMPLATE_OPTIONS;

/** One output's template and every partial, each compiled with that output's options. */
export interface CompiledTemplate<S = TemplateSpec> {
  readonly main: S;
  /** Partial name (path under partials/ without `.hbs`, e.g. `md/summary`) -> compiled partial. */
  readonly partials: Readonly<Record<string, S>>;
}
/** The Markdown and HTML templates, compiled (`S`: the spec objects, or their source text at synth). */
export type CompiledPostmortemTemplates<S = TemplateSpec> = Readonly<
  Record<PostmortemOutput, CompiledTemplate<S>>
>;

export interface RenderedAsset {
  readonly fileName: string;
  readonly contentType: string;
  readonly body: string;
}

export interface RenderedPostmortem {
  readonly markdown: string;
  readonly html: string;
  /** Files the Markdown links to (the SVG charts), to be written next to postmortem.md. */
  readonly assets: readonly RenderedAsset[];
}

/** Escapes a Markdown table cell: pipes, and newlines (which would end the row). */
export function escapeTableCell(text: string): string {
  return text
    .replace(/&(?![a-zA-Z]+;|#\d+;)/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/\|/g, "\\|")
    .replace(/\r?\n/g, "<br>");
}

/** Escapes prose from the record for Markdown: HTML-significant characters only, so text stays readable. */
export function escapeMarkdownText(text: string): string {
  return text
    .replace(/&(?![a-zA-Z]+;|#\d+;)/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;");
}

/** Inline code span that survives backticks inside the text. */
export function inlineCode(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  const pad = text.startsWith("`") || text.endsWith("`") ? " " : "";
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** A fence longer than any backtick run in the code. */
function codeFence(code: string): string {
  const longest = Math.max(0, ...[...code.matchAll(/`{3,}/g)].map((m) => m[0].length));
  return "`".repeat(Math.max(3, longest + 1));
}

/** Minimal Markdown for HTML output: `code` spans only, everything else escaped. */
function inlineMarkdownToHtml(text: string): string {
  const esc = Handlebars.escapeExpression;
  return text
    .split(/(`[^`]+`)/g)
    .map((part) =>
      part.startsWith("`") && part.endsWith("`") && part.length > 1
        ? `<code>${esc(part.slice(1, -1))}</code>`
        : // `_to be filled_` and other `_emphasis_` between spaces: <em>.
          esc(part).replace(/(^|\s)_([^_\s][^_]*?)_(?=$|[\s.,;:])/g, "$1<em>$2</em>"),
    )
    .join("");
}

const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

type HelperFn = (this: unknown, ...args: unknown[]) => unknown;

/**
 * Handlebars' strict mode checks plain mustaches (`{{title}}`) and intermediate path segments, but not the
 * last segment of a helper or block parameter (`{{md trigger}}`, `{{#each lessons.lucky}}`): those quietly
 * become undefined. This wrapper closes the gap: with `trackIds` the helper learns each parameter's path and
 * throws, in Handlebars' own words, when one is undefined (null is a value: "known to be absent").
 */
function strictHelper(name: string, fn: HelperFn): HelperFn {
  return function (this: unknown, ...args: unknown[]) {
    const options = args.at(-1) as { ids?: unknown[] } | undefined;
    args.slice(0, -1).forEach((value, i) => {
      if (value === undefined) {
        const id = options?.ids?.[i];
        throw new Error(
          `"${typeof id === "string" ? id : `parameter ${i + 1}`}" not defined (in {{${name}}})`,
        );
      }
    });
    return fn.apply(this, args);
  };
}

type AnyChart = NonNullable<Charts[keyof Charts]>;

function chartList(charts: Charts): AnyChart[] {
  return [charts.fdUsage, charts.connectionStates, charts.idleAge].filter((c): c is AnyChart => c !== null);
}

/** Charts are data in the model; the SVG is drawn here, at render time. */
export function chartSvg(chart: AnyChart): string {
  if ("buckets" in (chart.rows[0] ?? {}))
    return idleAgeSvg((chart as NonNullable<Charts["idleAge"]>).rows, chart.title);
  if ("byState" in (chart.rows[0] ?? {}))
    return connectionStatesSvg((chart as NonNullable<Charts["connectionStates"]>).rows, chart.title);
  return fdUsageSvg((chart as NonNullable<Charts["fdUsage"]>).rows, chart.title);
}

/** Formatting helpers only: no decisions about content live here. */
function registerHelpers(hb: HandlebarsEnv): void {
  const helpers: Record<string, HelperFn> = {
    duration: (ms) => formatDuration(isNum(ms) ? ms : null),
    datetime: (iso) => formatDateTime(typeof iso === "string" ? iso : null),
    time: (iso) => formatTime(typeof iso === "string" ? iso : null),
    count: (v) => formatCount(isNum(v) ? v : null),
    bytes: (v) => (isNum(v) ? formatBytes(v) : "n/a"),
    percent: (v) => (isNum(v) ? `${Math.round(v)}%` : "n/a"),
    cell: (v) => escapeTableCell(v === null ? "" : String(v)),
    md: (v) => escapeMarkdownText(String(v)),
    code: (v) => inlineCode(String(v)),
    fence: (v) => codeFence(String(v)),
    json: (v) => JSON.stringify(v),
    // A chart of the model drawn as inline SVG (escaped where built, in svg.ts).
    svg: (c) => new hb.SafeString(chartSvg(c as AnyChart)),
    // HTML output: inline `code` spans become <code>, the rest is escaped.
    inlineHtml: (v) => new hb.SafeString(inlineMarkdownToHtml(String(v))),
  };
  for (const [name, fn] of Object.entries(helpers)) hb.registerHelper(name, strictHelper(name, fn));
  for (const name of ["if", "unless", "each", "with"]) {
    const builtIn = hb.helpers[name] as HelperFn | undefined;
    if (builtIn) hb.registerHelper(name, strictHelper(`#${name}`, builtIn));
  }
}

function run(
  hb: HandlebarsEnv,
  output: PostmortemOutput,
  compiled: CompiledTemplate,
  model: Postmortem,
): string {
  const name = output === "markdown" ? "postmortem.md" : "postmortem.html";
  try {
    const partials = Object.fromEntries(
      Object.entries(compiled.partials).map(([p, spec]) => [p, hb.template(spec)]),
    );
    return hb.template(compiled.main)(model, { partials });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new TemplateRenderError(name, message, { cause: error });
  }
}

/**
 * Renders the model with compiled templates (strict mode: a template naming a field the model lacks
 * throws); each output's partials are the ones compiled with its own options.
 */
export function renderCompiledPostmortem(
  model: Postmortem,
  templates: CompiledPostmortemTemplates,
): RenderedPostmortem {
  const hb = Handlebars.create();
  registerHelpers(hb);
  const markdown = run(hb, "markdown", templates.markdown, model);
  const html = run(hb, "html", templates.html, model);
  const assets: RenderedAsset[] = chartList(model.charts).map((c) => ({
    fileName: c.fileName,
    contentType: "image/svg+xml",
    body: chartSvg(c),
  }));
  return { markdown: `${markdown.replace(/\n{3,}/g, "\n\n").trimEnd()}\n`, html, assets };
}
