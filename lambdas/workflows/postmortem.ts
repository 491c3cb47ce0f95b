import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { loadPostmortemKnowledge } from "../adapters/local/knowledge-loader.js";
import { loadPostmortemTemplates } from "../adapters/local/template-loader.js";
import { type IncidentRecord, incidentRecordSchema } from "../core/incident/schema.js";
import { type BuildPostmortemOptions, buildPostmortem } from "../core/postmortem/build-postmortem.js";
import { IncidentRecordNotFoundError, InvalidIncidentRecordError } from "../core/postmortem/errors.js";
import { renderPostmortem } from "../core/postmortem/render-postmortem.js";
import { DEFAULT_REDACTION_RULES, Redactor } from "../core/redact/index.js";

export const INCIDENT_FILE = "incident.json";
const DEFAULT_REDACTOR = new Redactor(DEFAULT_REDACTION_RULES);

export interface WritePostmortemOptions extends Omit<BuildPostmortemOptions, "knowledge"> {
  /** Class knowledge; default: runbooks/postmortem/knowledge.yaml. */
  readonly knowledge?: BuildPostmortemOptions["knowledge"];
  /** Folder with custom templates; files it lacks come from runbooks/templates. */
  readonly templatesDir?: string;
  /** Where to write; default: the incident folder. */
  readonly outDir?: string;
  /** Applied to everything written; default: the built-in patterns (the record is already redacted). */
  readonly redactor?: Redactor;
}

export interface WrittenPostmortem {
  readonly markdownPath: string;
  readonly htmlPath: string;
  readonly assetPaths: readonly string[];
}

/** Parses and validates an incident record; the error message is one line naming the first problem. */
export function parseIncidentRecord(text: string, source: string): IncidentRecord {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InvalidIncidentRecordError(`${source} is not JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const parsed = incidentRecordSchema.safeParse(json);
  if (!parsed.success) {
    const [first, ...rest] = parsed.error.issues;
    const where = first?.path.length ? first.path.join(".") : "(root)";
    const more = rest.length ? ` (and ${rest.length} more problem${rest.length === 1 ? "" : "s"})` : "";
    throw new InvalidIncidentRecordError(
      `${source} is not a valid incident record: ${where}: ${first?.message ?? "invalid"}${more}`,
    );
  }
  return parsed.data;
}

export async function readIncidentRecord(incidentDir: string): Promise<IncidentRecord> {
  const path = join(incidentDir, INCIDENT_FILE);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw code === "ENOENT" || code === "ENOTDIR"
      ? new IncidentRecordNotFoundError(`no ${INCIDENT_FILE} in ${incidentDir}`, { cause: error })
      : new InvalidIncidentRecordError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  return parseIncidentRecord(text, path);
}

/**
 * Re-renders the postmortem of a saved incident: reads `<incidentDir>/incident.json`, builds the model,
 * renders with the shipped (or custom) templates and writes postmortem.md, postmortem.html and the
 * SVG charts the Markdown links to.
 */
export async function writePostmortem(
  incidentDir: string,
  opts: WritePostmortemOptions = {},
): Promise<WrittenPostmortem> {
  const record = await readIncidentRecord(incidentDir);
  const templates = await loadPostmortemTemplates(opts.templatesDir);
  const knowledge = opts.knowledge ?? (await loadPostmortemKnowledge());
  const model = buildPostmortem(record, { ...opts, knowledge });
  const out = resolve(opts.outDir ?? incidentDir);
  await mkdir(out, { recursive: true });
  const rendered = renderPostmortem(model, templates);
  // The writer redacts: whatever the templates or the model print, no secret reaches the files.
  const redact = (text: string) => (opts.redactor ?? DEFAULT_REDACTOR).text(text).text;
  const markdownPath = join(out, "postmortem.md");
  const htmlPath = join(out, "postmortem.html");
  const assetPaths = rendered.assets.map((a) => join(out, a.fileName));
  await Promise.all([
    writeFile(markdownPath, redact(rendered.markdown), "utf8"),
    writeFile(htmlPath, redact(rendered.html), "utf8"),
    ...rendered.assets.map((a, i) =>
      writeFile(assetPaths[i] ?? join(out, a.fileName), redact(a.body), "utf8"),
    ),
  ]);
  return { markdownPath, htmlPath, assetPaths };
}
