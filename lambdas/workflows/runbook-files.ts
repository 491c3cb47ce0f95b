import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { packageRunbooksDir } from "../adapters/local/package-root.js";
import { actionCommands } from "../core/mitigation/actions/registry.js";
import { HEALTH_CHECK_COMMAND } from "../core/mitigation/health-check.js";
import { parseProbeOutput } from "../core/parsers/probe-output.js";
import { Redactor, redactionRules } from "../core/redact/index.js";
import { diagnose } from "../core/rules/engine.js";
import { parseRunbook } from "../core/runbook/load.js";
import { EXTENDS_KEY, isOverride, resolveRunbook } from "../core/runbook/override.js";
import type { Runbook } from "../core/runbook/schema.js";
import { type RunSettings, resolveRunSettings } from "../core/settings/run-settings.js";
import type { RunbookView, Scripts, WorkflowDeps } from "./deps.js";

/**
 * Reading a runbook and its scripts from a runbooks folder: the repository's `runbooks/` for the CLI,
 * the copy bundled next to a Lambda's code (RUNBOOKS_DIR) on AWS.
 */
export const DEFAULT_RUNBOOKS_DIR = `${packageRunbooksDir()}/`;

export class RunbookFileError extends Error {
  override name = "RunbookFileError";
}

/**
 * A runbook by id (`<dir>/<id>.yaml`) or by file. A file is either a whole runbook or an override
 * (it says `extends: <id>`): then the base runbook `<id>` is read from `dir` and the override applied,
 * and the result validated (lambdas/core/runbook/override.ts, docs/runbook-overrides.md).
 */
export async function loadRunbookDoc(idOrPath: string, dir = DEFAULT_RUNBOOKS_DIR): Promise<Runbook> {
  const isFile = /\.(ya?ml|json)$/.test(idOrPath);
  const path = isFile ? resolve(idOrPath) : join(dir, `${idOrPath}.yaml`);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new RunbookFileError(`no runbook '${idOrPath}': ${path} not found`);
  }
  const extendsId = isFile ? overrideBaseOf(text) : null;
  if (extendsId !== null) {
    if (!/^[a-z][a-z0-9-]*$/.test(extendsId)) {
      throw new RunbookFileError(
        `runbook override ${path}: extends: expected a runbook id like api-unreachable, got ${JSON.stringify(extendsId)}`,
      );
    }
    const base = await loadRunbookDoc(extendsId, dir);
    const resolved = resolveRunbook(base, { text, source: path });
    if (!resolved.ok) throw new RunbookFileError(resolved.error.message);
    return resolved.value;
  }
  const parsed = parseRunbook(text, path);
  if (!parsed.ok) throw new RunbookFileError(`runbook ${path} is invalid: ${parsed.error.message}`);
  return parsed.value;
}

/** The `extends:` of an override file, or null for a whole runbook (or text that is not YAML: parseRunbook says why). */
function overrideBaseOf(text: string): string | null {
  try {
    const data: unknown = parseYaml(text);
    if (!isOverride(data)) return null;
    return String((data as Record<string, unknown>)[EXTENDS_KEY]);
  } catch {
    return null;
  }
}

/** The text of every script a run may send: the runbook's probe and each registered host command. */
export async function loadScripts(doc: Runbook, dir = DEFAULT_RUNBOOKS_DIR): Promise<NonNullable<Scripts>> {
  const paths = [doc.probe.script, ...actionCommands().map((c) => c.script), HEALTH_CHECK_COMMAND.script];
  const texts: Record<string, string> = {};
  for (const path of new Set(paths)) texts[path] = await readFile(join(dir, path), "utf8");
  return texts;
}

/**
 * The workflow's view of a runbook: the run's settings (resolved from the runbook and the entry point's
 * layers, lambdas/core/settings) and the pure rules engine bound to the runbook.
 */
export function runbookView(doc: Runbook, settings: RunSettings = resolveRunSettings(doc)): RunbookView {
  return {
    id: doc.id,
    probe: settings.probe,
    ladders: doc.mitigation.ladders,
    cooldownSeconds: settings.cooldownSeconds,
    verify: settings.verify,
    redactor: new Redactor(redactionRules(doc.redaction?.patterns ?? [])),
    diagnose: (evidence) => diagnose(evidence, doc),
  };
}

/** Probe stdout → Evidence, as the workflow wants it. */
export const parseEvidence: WorkflowDeps["parseEvidence"] = (stdout, meta) => {
  const r = parseProbeOutput(stdout, meta);
  return r.ok ? { ok: true, value: r.value } : { ok: false, message: r.error.message };
};
