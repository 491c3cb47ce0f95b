import Handlebars from "handlebars";
import { TemplateRenderError } from "./errors.js";
import { formatBytes, formatCount, formatDateTime, formatDuration, formatTime } from "./format.js";
import type { Postmortem } from "./schema.js";

/** Template texts, loaded by an adapter (see lambdas/adapters/local/template-loader.ts). */
export interface PostmortemTemplates {
  readonly markdown: string;
  readonly html: string;
  /** Partial name (path under partials/ without `.hbs`, e.g. `md/summary`) -> text. */
  readonly partials: Readonly<Record<string, string>>;
}

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
        : esc(part),
    )
    .join("");
}

const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** Formatting helpers only: no decisions about content live here. */
function registerHelpers(hb: typeof Handlebars): void {
  hb.registerHelper("duration", (ms: unknown) => formatDuration(isNum(ms) ? ms : null));
  hb.registerHelper("datetime", (iso: unknown) => formatDateTime(typeof iso === "string" ? iso : null));
  hb.registerHelper("time", (iso: unknown) => formatTime(typeof iso === "string" ? iso : null));
  hb.registerHelper("count", (v: unknown) => formatCount(isNum(v) ? v : null));
  hb.registerHelper("bytes", (v: unknown) => (isNum(v) ? formatBytes(v) : "n/a"));
  hb.registerHelper("percent", (v: unknown) => (isNum(v) ? `${Math.round(v)}%` : "n/a"));
  hb.registerHelper("cell", (v: unknown) => escapeTableCell(v === null ? "" : String(v)));
  hb.registerHelper("md", (v: unknown) => escapeMarkdownText(String(v)));
  hb.registerHelper("code", (v: unknown) => inlineCode(String(v)));
  hb.registerHelper("fence", (v: unknown) => codeFence(String(v)));
  hb.registerHelper("upper", (v: unknown) => String(v).toUpperCase());
  hb.registerHelper("json", (v: unknown) => JSON.stringify(v));
  hb.registerHelper("join", (list: unknown, sep: unknown) =>
    Array.isArray(list) ? list.map(String).join(typeof sep === "string" ? sep : ", ") : "",
  );
  // HTML output: inline `code` spans become <code>, the rest is escaped. Returns SafeString.
  hb.registerHelper("inlineHtml", (v: unknown) => new hb.SafeString(inlineMarkdownToHtml(String(v))));
}

function compile(
  hb: typeof Handlebars,
  name: string,
  text: string,
  noEscape: boolean,
  model: Postmortem,
): string {
  try {
    return hb.compile(text, { strict: true, noEscape })(model);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new TemplateRenderError(name, message, { cause: error });
  }
}

/**
 * Renders the model with Handlebars in strict mode: a template naming a field the model lacks throws.
 * Markdown is compiled with `noEscape` (escaping is explicit: `cell`, `md`, `code` helpers);
 * HTML keeps Handlebars' escaping, and SVGs are inserted with triple braces (already escaped in svg.ts).
 */
export function renderPostmortem(model: Postmortem, templates: PostmortemTemplates): RenderedPostmortem {
  const hb = Handlebars.create();
  registerHelpers(hb);
  for (const [name, text] of Object.entries(templates.partials)) hb.registerPartial(name, text);
  const markdown = compile(hb, "postmortem.md", templates.markdown, true, model);
  const html = compile(hb, "postmortem.html", templates.html, false, model);
  const assets: RenderedAsset[] = [model.charts.fdUsage, model.charts.connectionStates].flatMap((c) =>
    c ? [{ fileName: c.fileName, contentType: "image/svg+xml", body: c.svg }] : [],
  );
  return { markdown: `${markdown.replace(/\n{3,}/g, "\n\n").trimEnd()}\n`, html, assets };
}
