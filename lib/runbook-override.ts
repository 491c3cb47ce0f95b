import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse, stringify } from "yaml";
import { parseRunbook } from "../lambdas/core/runbook/load.js";
import { type RunbookOverride, resolveRunbook } from "../lambdas/core/runbook/override.js";
import type { Runbook } from "../lambdas/core/runbook/schema.js";

export type { RunbookOverride } from "../lambdas/core/runbook/override.js";

/** The runbook a construct deploys: the shipped one, or the shipped one with the user's override applied. */
export interface ResolvedRunbook {
  readonly doc: Runbook;
  /** Files to write over the Lambdas' runbooks/ folder (empty when nothing is overridden). */
  readonly files: Readonly<Record<string, string>>;
  /** Settings the override itself sets (they apply unless the construct's own prop says otherwise). */
  readonly overrideSets: { readonly mode: boolean; readonly cooldown: boolean };
}

/**
 * Resolves the construct's `runbook` prop at synth time: a file path (YAML or JSON, relative to the
 * working directory) or an object, applied to `<runbooksDir>/<id>.yaml` and validated like any runbook.
 * A bad override fails the synth with one message naming the file, the field path and what was expected.
 */
export function resolveConstructRunbook(
  id: string,
  runbooksDir: string,
  runbook: string | RunbookOverride | undefined,
): ResolvedRunbook {
  const basePath = join(runbooksDir, `${id}.yaml`);
  const base = parseRunbook(readFileSync(basePath, "utf8"), basePath);
  if (!base.ok) throw new Error(`runbook-autopilot: ${base.error.message}`);
  if (runbook === undefined) {
    return { doc: base.value, files: {}, overrideSets: { mode: false, cooldown: false } };
  }
  let input: { text?: string; data?: unknown; source: string };
  if (typeof runbook === "string") {
    const path = resolve(runbook);
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      throw new Error(`runbook-autopilot: props.runbook: cannot read ${path}: ${(e as Error).message}`);
    }
    input = { text, source: path };
  } else {
    input = { data: runbook, source: "props.runbook" };
  }
  const r = resolveRunbook(base.value, input);
  if (!r.ok) throw new Error(`runbook-autopilot: ${r.error.message}`);
  const from = typeof runbook === "string" ? resolve(runbook) : "the construct's runbook prop";
  const header = `# ${id}, resolved at synth time: runbooks/${id}.yaml with the override from ${from}\n`;
  const data = (input.data ?? parse(input.text ?? "")) as RunbookOverride;
  const defaults = data?.mitigation?.defaults;
  return {
    doc: r.value,
    files: { [`${id}.yaml`]: `${header}${stringify(r.value, { lineWidth: 0 })}` },
    overrideSets: {
      mode: defaults?.mode !== undefined && defaults.mode !== null,
      cooldown: defaults?.cooldownSeconds !== undefined && defaults.cooldownSeconds !== null,
    },
  };
}
