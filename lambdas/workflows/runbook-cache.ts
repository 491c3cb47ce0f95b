import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { checkRunbookData } from "../core/runbook/check.js";
import type { Runbook } from "../core/runbook/schema.js";

/**
 * The packaged runbooks, parsed at build time (scripts/build.ts) and written next to the bundled CLI as
 * `<dir>/<id>.runbook.json`: `{ source: <sha256 of <id>.yaml>, runbook }`. A cold `runbook diagnose`
 * spent ~100 ms, a third of its start before the probe, parsing the 17 KB YAML. The JSON is used only
 * when the YAML it would stand for is byte for byte the one it was made from (an edited runbook is read
 * as YAML again), and it is validated again like any input; anything wrong with it means "not cached",
 * never an error: the YAML is the source of truth and reports its own errors with line numbers.
 */
export const runbookCacheFile = (dir: string, id: string) => join(dir, `${id}.runbook.json`);

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** The cache file's text for a runbook parsed from `yamlText`. */
export function runbookCacheEntry(yamlText: string, runbook: Runbook): string {
  return JSON.stringify({ source: sha256(yamlText), runbook });
}

let cacheDir: string | null = null;

/** Where the running CLI's cache is (set once by its entry point, cli/bin.ts); null: no cache. */
export function useRunbookCache(dir: string | null): void {
  cacheDir = dir;
}

/** The cached runbook `id` when the cache holds one made from exactly `yamlText`; else null. */
export async function cachedRunbook(id: string, yamlText: string): Promise<Runbook | null> {
  if (cacheDir === null) return null;
  let entry: unknown;
  try {
    entry = JSON.parse(await readFile(runbookCacheFile(cacheDir, id), "utf8"));
  } catch {
    return null;
  }
  if (typeof entry !== "object" || entry === null) return null;
  const { source, runbook } = entry as { source?: unknown; runbook?: unknown };
  if (source !== sha256(yamlText)) return null;
  const checked = checkRunbookData(runbook);
  return checked.ok ? checked.value : null;
}
