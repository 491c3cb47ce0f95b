import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { FolderArtifactStore } from "../adapters/local/artifact-store.js";
import { loadPostmortemKnowledge } from "../adapters/local/knowledge-loader.js";
import { loadPostmortemTemplates, loadTemplates } from "../adapters/local/template-loader.js";
import { type IncidentRecord, incidentRecordSchema } from "../core/incident/schema.js";
import { type BuildPostmortemOptions, buildPostmortem } from "../core/postmortem/build-postmortem.js";
import { IncidentRecordNotFoundError, InvalidIncidentRecordError } from "../core/postmortem/errors.js";
import { compilePostmortemTemplates, renderPostmortem } from "../core/postmortem/render-postmortem.js";
import type { Redactor } from "../core/redact/index.js";
import type { ArtifactStore, StoredArtifact } from "../ports/index.js";
import type { PostmortemAssets } from "./bundled-postmortem.js";
import { artifactsUnder, storePostmortem } from "./store-postmortem.js";

export {
  artifactsUnder,
  type PutPostmortemFile,
  type StoredPostmortem,
  storePostmortem,
} from "./store-postmortem.js";

export const INCIDENT_FILE = "incident.json";

export interface WritePostmortemOptions extends Omit<BuildPostmortemOptions, "knowledge"> {
  /** Class knowledge; default: runbooks/postmortem/knowledge.yaml. */
  readonly knowledge?: BuildPostmortemOptions["knowledge"];
  /** Folder with custom templates; files it lacks come from runbooks/templates. */
  readonly templatesDir?: string;
  /** Where to write; default: the incident folder. */
  readonly outDir?: string;
  /** The store written through; default: a FolderArtifactStore on `outDir` (keys are file names). */
  readonly artifacts?: ArtifactStore;
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
 * renders with the shipped (or custom) templates and stores postmortem.md, postmortem.html and the
 * SVG charts through `storePostmortem` into `opts.artifacts` (default: the folder `opts.outDir`).
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
  const rendered = renderPostmortem(model, templates);
  const store = opts.artifacts ?? new FolderArtifactStore(out);
  const stored = await storePostmortem(rendered, artifactsUnder(store, ""), opts.redactor);
  // A folder store answers file:// URIs; another store's URIs (s3://...) are reported as they are.
  const where = (a: StoredArtifact) => (a.uri.startsWith("file://") ? fileURLToPath(a.uri) : a.uri);
  return {
    markdownPath: where(stored.markdown),
    htmlPath: where(stored.html),
    assetPaths: stored.assets.map(where),
  };
}

/**
 * The postmortem's templates (compiled from their texts) and class knowledge (its YAML) in a runbooks
 * folder: what a Lambda run from source renders with (bundled-postmortem.ts decides; a bundle reads what
 * lib/lambda-bundle.ts made of the same files at synth).
 */
export async function loadPostmortemSources(runbooksDir: string): Promise<PostmortemAssets> {
  return {
    templates: compilePostmortemTemplates(await loadTemplates(join(runbooksDir, "templates"))),
    knowledge: await loadPostmortemKnowledge(join(runbooksDir, "postmortem/knowledge.yaml")),
  };
}
