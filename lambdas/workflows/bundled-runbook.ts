import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { packageRunbooksDir } from "../adapters/local/package-root.js";
import { checkRunbookData, formatPath } from "../core/runbook/check.js";
import type { Runbook } from "../core/runbook/schema.js";

/**
 * The runbooks folder: the repository's `runbooks/` for the CLI, the copy bundled next to a Lambda's code
 * (RUNBOOKS_DIR) on AWS.
 */
export const DEFAULT_RUNBOOKS_DIR = `${packageRunbooksDir()}/`;

export class RunbookFileError extends Error {
  override name = "RunbookFileError";
}

/**
 * The file a Lambda bundle reads its runbook from: `<id>.yaml` parsed and validated at synth time by
 * lib/lambda-bundle.ts, written next to it as JSON, so the Lambdas carry no YAML parser (~115 KB).
 */
export const bundledRunbookFile = (dir: string, id: string) => join(dir, `${id}.runbook.json`);

/** Reads `<dir>/<id>.runbook.json` and validates it again (zod at the boundary: the file is only data). */
export async function loadBundledRunbook(id: string, dir: string): Promise<Runbook> {
  const path = bundledRunbookFile(dir, id);
  let data: unknown;
  try {
    data = JSON.parse(await readFile(path, "utf8"));
  } catch (e) {
    throw new RunbookFileError(
      `no bundled runbook '${id}': ${path} (written at synth by lib/lambda-bundle.ts from ${id}.yaml) could not be read: ${(e as Error).message}`,
    );
  }
  const checked = checkRunbookData(data);
  if (!checked.ok) {
    const first = checked.error.issues[0];
    throw new RunbookFileError(
      `bundled runbook ${path} is invalid: ${first ? `${formatPath(first.path) || "(root)"}: ${first.message}` : checked.error.kind}`,
    );
  }
  return checked.value;
}

/**
 * The runbook a Lambda runs. In a Lambda bundle (lib/lambda-bundle.ts defines RUNBOOK_LAMBDA_BUNDLE as
 * "1"), the JSON the bundler wrote; esbuild drops the other branch and with it the YAML loader. From source
 * (the tests, the local state machine runs) the YAML, through the loader the CLI uses.
 */
export function loadLambdaRunbook(id: string, dir: string): Promise<Runbook> {
  // One expression: esbuild leaves out the modules imported only in the branch a define makes dead (it
  // would keep them after an `if (...) return`).
  return process.env.RUNBOOK_LAMBDA_BUNDLE === "1"
    ? loadBundledRunbook(id, dir)
    : import("./runbook-files.js").then((m) => m.loadRunbookDoc(id, dir));
}
