import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { actionCommands } from "../core/mitigation/actions/registry.js";
import { HEALTH_CHECK_COMMAND } from "../core/mitigation/health-check.js";
import type { Runbook } from "../core/runbook/schema.js";
import { assembleScript } from "../core/runbook/script-include.js";
import { DEFAULT_RUNBOOKS_DIR, RunbookFileError } from "./bundled-runbook.js";
import type { Scripts } from "./deps.js";
import { cachedRunbook } from "./runbook-cache.js";

export { DEFAULT_RUNBOOKS_DIR, RunbookFileError } from "./bundled-runbook.js";
export { parseEvidence, runbookView } from "./runbook-view.js";

/**
 * Reading a runbook (YAML) and its scripts from a runbooks folder: the repository's `runbooks/` for the
 * CLI and the tests. A Lambda bundle reads the JSON written at synth instead (bundled-runbook.ts).
 */

/**
 * A runbook by id (`<dir>/<id>.yaml`) or by file. A file is either a whole runbook or an override
 * (it says `extends: <id>`): then the base runbook `<id>` is read from `dir` and the override applied,
 * and the result validated (lambdas/core/runbook/override.ts, docs/runbook-overrides.md).
 * A runbook by id comes from the build's parsed copy when the YAML is unchanged (runbook-cache.ts); the
 * YAML parser is loaded only when it is needed.
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
  if (!isFile) {
    const cached = await cachedRunbook(idOrPath, text);
    if (cached) return cached;
  }
  // Our modules that import the yaml package, not the package itself: in the bundled CLI a dynamic import
  // of a CommonJS package yields only its `default`.
  const [{ parseRunbook }, { overrideBaseOf, resolveRunbook }] = await Promise.all([
    import("../core/runbook/load.js"),
    import("../core/runbook/override.js"),
  ]);
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

/**
 * The text of every script a run may send: the runbook's probe and each registered host command, each
 * ASSEMBLED (its include lines replaced by the included files: readRunbookScript), as the SSM documents
 * carry them.
 */
export async function loadScripts(doc: Runbook, dir = DEFAULT_RUNBOOKS_DIR): Promise<NonNullable<Scripts>> {
  const paths = [doc.probe.script, ...actionCommands().map((c) => c.script), HEALTH_CHECK_COMMAND.script];
  const texts: Record<string, string> = {};
  for (const path of new Set(paths)) texts[path] = readRunbookScript(dir, path);
  return texts;
}

/**
 * A runbook script as it is sent (`path` relative to the runbooks folder `dir`): its text with every
 * `# runbook:include lib/<file>.sh` line replaced by that file (lambdas/core/runbook/script-include.ts).
 * The one way the SSM documents (lib/runbook-documents.ts, lib/leak-watch.ts), the local runner and
 * `runbook watch` read a script. Throws ScriptIncludeError naming the script and line of a bad include.
 */
export function readRunbookScript(dir: string, path: string): string {
  const root = resolve(dir);
  return assembleScript(path, (rel) => {
    const file = resolve(root, rel);
    const inside = relative(root, file);
    if (inside === "" || inside.startsWith("..") || resolve(root, inside) !== file) return null;
    try {
      return readFileSync(file, "utf8");
    } catch {
      return null;
    }
  });
}
