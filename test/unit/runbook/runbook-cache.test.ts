import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { packageRunbooksDir } from "../../../lambdas/adapters/local/package-root.js";
import { parseRunbook } from "../../../lambdas/core/runbook/load.js";
import {
  runbookCacheEntry,
  runbookCacheFile,
  useRunbookCache,
} from "../../../lambdas/workflows/runbook-cache.js";
import { loadRunbookDoc } from "../../../lambdas/workflows/runbook-files.js";

const work = mkdtempSync(join(tmpdir(), "runbook-cache-"));
const runbooks = join(work, "runbooks");
const cache = join(work, "cache");
cpSync(packageRunbooksDir(), runbooks, { recursive: true });
mkdirSync(cache);
const yamlPath = join(runbooks, "api-unreachable.yaml");
const yaml = readFileSync(yamlPath, "utf8");

function parsed(text: string) {
  const r = parseRunbook(text, yamlPath);
  if (!r.ok) throw r.error;
  return r.value;
}

/** A cache entry made from `source`, holding `runbook` (a marked title shows which one was read). */
function writeEntry(source: string, runbook: unknown) {
  const entry = JSON.parse(runbookCacheEntry(source, parsed(yaml))) as { source: string };
  writeFileSync(
    runbookCacheFile(cache, "api-unreachable"),
    JSON.stringify({ source: entry.source, runbook }),
  );
}

afterEach(() => useRunbookCache(null));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the CLI's parsed runbooks (runbook-cache.ts)", () => {
  it("reads the parsed copy while the YAML is the one it was made from", async () => {
    writeEntry(yaml, { ...parsed(yaml), title: "from the cache" });
    useRunbookCache(cache);
    expect((await loadRunbookDoc("api-unreachable", runbooks)).title).toBe("from the cache");
  });

  it("parses the YAML when it changed since the copy was made", async () => {
    writeEntry(yaml, { ...parsed(yaml), title: "from the cache" });
    useRunbookCache(cache);
    const edited = yaml.replace(/^title: .*$/m, "title: edited by hand");
    const dir = join(work, "edited");
    cpSync(runbooks, dir, { recursive: true });
    writeFileSync(join(dir, "api-unreachable.yaml"), edited);
    expect((await loadRunbookDoc("api-unreachable", dir)).title).toBe("edited by hand");
  });

  it("ignores a copy that does not validate, or is not JSON, and parses the YAML", async () => {
    useRunbookCache(cache);
    writeEntry(yaml, { ...parsed(yaml), apiVersion: "something/else" });
    expect((await loadRunbookDoc("api-unreachable", runbooks)).title).toBe(parsed(yaml).title);
    writeFileSync(runbookCacheFile(cache, "api-unreachable"), "{ not json");
    expect((await loadRunbookDoc("api-unreachable", runbooks)).title).toBe(parsed(yaml).title);
  });

  it("is never used for a runbook given as a file (its errors keep their line numbers)", async () => {
    writeEntry(yaml, { ...parsed(yaml), title: "from the cache" });
    useRunbookCache(cache);
    expect((await loadRunbookDoc(yamlPath)).title).toBe(parsed(yaml).title);
  });

  it("without a cache the YAML is read", async () => {
    expect((await loadRunbookDoc("api-unreachable", runbooks)).title).toBe(parsed(yaml).title);
  });
});
