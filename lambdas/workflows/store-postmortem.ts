import type { RenderedPostmortem } from "../core/postmortem/render-compiled.js";
import { DEFAULT_REDACTION_RULES, Redactor } from "../core/redact/index.js";
import type { ArtifactStore, StoredArtifact } from "../ports/index.js";

/**
 * The one postmortem writer, apart from the CLI's re-render (postmortem.ts) so that the WritePostmortem
 * Lambda imports it without the template and knowledge loaders.
 */
const DEFAULT_REDACTOR = new Redactor(DEFAULT_REDACTION_RULES);

/** Stores one postmortem file under its name: an ArtifactStore under a key prefix, or a step's recorder. */
export type PutPostmortemFile<T> = (name: string, body: string, contentType: string) => Promise<T>;

export interface StoredPostmortem<T> {
  readonly markdown: T;
  readonly html: T;
  readonly assets: readonly T[];
}

/** `put` for an ArtifactStore: `<prefix>/<name>` (just `<name>` when the prefix is empty). */
export function artifactsUnder(store: ArtifactStore, prefix: string): PutPostmortemFile<StoredArtifact> {
  return (name, body, contentType) => store.put(prefix ? `${prefix}/${name}` : name, body, contentType);
}

/**
 * The one postmortem writer (the CLI's re-render, the local run and the Step Functions step): redacts
 * each file, then stores postmortem.md, postmortem.html and the SVG charts the Markdown links to
 * through `put`, one after the other (a recorder updates the record per file).
 */
export async function storePostmortem<T>(
  rendered: RenderedPostmortem,
  put: PutPostmortemFile<T>,
  redactor: Redactor = DEFAULT_REDACTOR,
): Promise<StoredPostmortem<T>> {
  // The writer redacts: whatever the templates or the model print, no secret reaches the store.
  const redact = (text: string) => redactor.text(text).text;
  const markdown = await put("postmortem.md", redact(rendered.markdown), "text/markdown");
  const html = await put("postmortem.html", redact(rendered.html), "text/html");
  const assets: T[] = [];
  for (const a of rendered.assets) assets.push(await put(a.fileName, redact(a.body), a.contentType));
  return { markdown, html, assets };
}
