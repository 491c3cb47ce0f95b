import { readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { TemplateLoadError } from "../../core/postmortem/errors.js";
import type { PostmortemTemplates } from "../../core/postmortem/render-postmortem.js";
import { packageRunbooksDir } from "./package-root.js";

/** The templates shipped with the package: runbooks/templates. */
export const DEFAULT_TEMPLATES_DIR = join(packageRunbooksDir(), "templates/");

export const MARKDOWN_TEMPLATE = "postmortem.md.hbs";
export const HTML_TEMPLATE = "postmortem.html.hbs";
export const PARTIALS_DIR = "partials";

async function readIfExists(path: string): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new TemplateLoadError(`cannot read template ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

async function listHbs(dir: string): Promise<string[]> {
  let entries: import("node:fs").Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true, recursive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new TemplateLoadError(`cannot list templates in ${dir}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(".hbs"))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/**
 * Reads templates from `dir`: `postmortem.md.hbs`, `postmortem.html.hbs` and `partials/**\/*.hbs`
 * (partial name = path under partials/ without `.hbs`, with `/`, e.g. `md/summary`).
 * With `base`, files missing from `dir` come from `base`, so a custom folder may override a single partial.
 */
export async function loadTemplates(dir: string, base?: PostmortemTemplates): Promise<PostmortemTemplates> {
  const markdown = (await readIfExists(join(dir, MARKDOWN_TEMPLATE))) ?? base?.markdown ?? null;
  const html = (await readIfExists(join(dir, HTML_TEMPLATE))) ?? base?.html ?? null;
  if (markdown === null || html === null) {
    const missing = [
      markdown === null ? MARKDOWN_TEMPLATE : null,
      html === null ? HTML_TEMPLATE : null,
    ].filter(Boolean);
    throw new TemplateLoadError(`template folder ${dir} has no ${missing.join(" or ")}`);
  }
  const partials: Record<string, string> = { ...(base?.partials ?? {}) };
  const partialsDir = join(dir, PARTIALS_DIR);
  for (const file of await listHbs(partialsDir)) {
    const name = relative(partialsDir, file).slice(0, -".hbs".length).split(sep).join("/");
    partials[name] = await readFile(file, "utf8");
  }
  return { markdown, html, partials };
}

/** The shipped templates, optionally overlaid by a custom folder (`--templates DIR`). */
export async function loadPostmortemTemplates(customDir?: string): Promise<PostmortemTemplates> {
  const defaults = await loadTemplates(DEFAULT_TEMPLATES_DIR);
  return customDir ? loadTemplates(customDir, defaults) : defaults;
}
