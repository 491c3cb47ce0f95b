import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseProbeOutput } from "../core/parsers/probe-output.js";
import { Redactor, redactionRules } from "../core/redact/index.js";
import { diagnose } from "../core/rules/engine.js";
import { parseRunbook } from "../core/runbook/load.js";
import type { Runbook } from "../core/runbook/schema.js";
import type { RunbookView, Scripts, WorkflowDeps } from "./deps.js";

/**
 * Reading a runbook and its scripts from a runbooks folder: the repository's `runbooks/` for the CLI,
 * the copy bundled next to a Lambda's code (RUNBOOKS_DIR) on AWS.
 */
export const DEFAULT_RUNBOOKS_DIR = fileURLToPath(new URL("../../runbooks/", import.meta.url));

export class RunbookFileError extends Error {
  override name = "RunbookFileError";
}

export async function loadRunbookDoc(idOrPath: string, dir = DEFAULT_RUNBOOKS_DIR): Promise<Runbook> {
  const path = /\.ya?ml$/.test(idOrPath) ? resolve(idOrPath) : join(dir, `${idOrPath}.yaml`);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new RunbookFileError(`no runbook '${idOrPath}': ${path} not found`);
  }
  const parsed = parseRunbook(text, path);
  if (!parsed.ok) throw new RunbookFileError(`runbook ${path} is invalid: ${parsed.error.message}`);
  return parsed.value;
}

export async function loadScripts(doc: Runbook, dir = DEFAULT_RUNBOOKS_DIR): Promise<Scripts> {
  const read = (rel: string) => readFile(join(dir, rel), "utf8");
  return {
    probe: await read(doc.probe.script),
    actions: {
      "kill-idle-connections": await read("actions/kill-idle-connections.sh"),
      "restart-service": await read("actions/restart-service.sh"),
      "check-health": await read("actions/check-health.sh"),
    },
  };
}

/** The workflow's view of a runbook: its settings and the pure rules engine bound to it. */
export function runbookView(doc: Runbook): RunbookView {
  return {
    id: doc.id,
    probe: doc.probe,
    ladders: doc.mitigation.ladders,
    cooldownSeconds: doc.mitigation.defaults.cooldownSeconds,
    verify: { attempts: doc.verify.attempts, intervalSeconds: doc.verify.intervalSeconds },
    redactor: new Redactor(redactionRules(doc.redaction?.patterns ?? [])),
    diagnose: (evidence) => diagnose(evidence, doc),
  };
}

/** Probe stdout → Evidence, as the workflow wants it. */
export const parseEvidence: WorkflowDeps["parseEvidence"] = (stdout, meta) => {
  const r = parseProbeOutput(stdout, meta);
  return r.ok ? { ok: true, value: r.value } : { ok: false, message: r.error.message };
};
