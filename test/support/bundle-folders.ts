import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import { RUNBOOKS_DIR } from "../../lib/paths.js";

/**
 * Runbooks folders as a Lambda bundle carries them, for tests of what a bundle reads
 * (lambdas/workflows/bundled-*.ts): each a temporary copy of the named entries of runbooks/, removed after
 * the test, with RUNBOOK_LAMBDA_BUNDLE restored (a test sets it to read as a bundle does).
 */
export function bundleFolders(...entries: string[]): () => string {
  const saved = process.env.RUNBOOK_LAMBDA_BUNDLE;
  const dirs: string[] = [];
  afterEach(() => {
    if (saved === undefined) delete process.env.RUNBOOK_LAMBDA_BUNDLE;
    else process.env.RUNBOOK_LAMBDA_BUNDLE = saved;
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), "runbook-bundled-"));
    dirs.push(dir);
    for (const e of entries) cpSync(join(RUNBOOKS_DIR, e), join(dir, e), { recursive: true });
    return dir;
  };
}
