import { isAbsolute, join, resolve } from "node:path";
import * as z from "zod";
import { FolderArtifactStore } from "../lambdas/adapters/local/artifact-store.js";
import { SystemClock } from "../lambdas/adapters/local/clock.js";
import { LocalCommandRunner } from "../lambdas/adapters/local/command-runner.js";
import { FileIncidentStore } from "../lambdas/adapters/local/incident-store.js";
import { packageRoot } from "../lambdas/adapters/local/package-root.js";
import type { IncidentRecord, PlannedAction } from "../lambdas/core/incident/schema.js";
import { actionCommands, actionModule } from "../lambdas/core/mitigation/actions/registry.js";
import { HEALTH_CHECK_COMMAND } from "../lambdas/core/mitigation/health-check.js";
import type { Runbook, Rung } from "../lambdas/core/runbook/schema.js";
import { thresholdValueProblem } from "../lambdas/core/runbook/thresholds.js";
import { type RunSettings, resolveRunSettings } from "../lambdas/core/settings/run-settings.js";
import type { CommandRunner } from "../lambdas/ports/index.js";
import type { RungApproval, WorkflowDeps } from "../lambdas/workflows/deps.js";
import { redactingPorts } from "../lambdas/workflows/redaction.js";
import {
  loadRunbookDoc,
  loadScripts,
  parseEvidence,
  RunbookFileError,
  readRunbookScript,
  runbookView,
} from "../lambdas/workflows/runbook-files.js";
import { DEFAULT_RAW_BASE as RAW_BASE } from "../lambdas/workflows/steps.js";
import { CliError } from "./errors.js";

/** The CLI's composition root: the one place that picks adapters for a target. */

export const REPO_ROOT = packageRoot();
export const RUNBOOKS_DIR = join(REPO_ROOT, "runbooks/");
/** A runbook script as it is sent (include lines inlined): `runbook watch` reads the leak-watch probe with it. */
export { readRunbookScript };

export interface WiringOptions {
  readonly runbook: string;
  readonly target: string;
  readonly region?: string | undefined;
  readonly bucket?: string | undefined;
  readonly out?: string;
  readonly approve?: (a: PlannedAction) => Promise<RungApproval>;
  readonly overrides?: RunbookOverrides;
}

export interface RunbookOverrides {
  /** `--mode`: over the runbook's `mitigation.defaults.mode` (the run settings' CLI layer). */
  readonly mode?: IncidentRecord["mode"] | undefined;
  readonly idleThresholdSeconds?: number | undefined;
  readonly threshold?: readonly string[];
}

/**
 * Operator overrides on a loaded runbook: `--threshold name=value` (only names the runbook defines)
 * and `--idle-threshold-seconds`, which sets the minimum of each rung that follows the idle threshold
 * (the probe's own threshold is a run setting: resolveRunSettings).
 */
export function applyOverrides(doc: Runbook, o: RunbookOverrides | undefined): Runbook {
  if (!o) return doc;
  const thresholds = { ...doc.thresholds };
  for (const pair of o.threshold ?? []) {
    const [name, value] = pair.split("=") as [string, string];
    // Own keys only: `toString` or `constructor` are not thresholds even though `in` finds them.
    if (!Object.hasOwn(thresholds, name)) {
      throw new CliError(
        `--threshold ${pair}: the runbook has no threshold '${name}' (it has: ${Object.keys(thresholds).join(", ")})`,
        2,
      );
    }
    const problem = thresholdValueProblem(name, Number(value));
    if (problem) throw new CliError(`--threshold ${pair}: ${problem} for ${name}`, 2);
    thresholds[name] = Number(value);
  }
  const idle = o.idleThresholdSeconds;
  if (idle === undefined) return { ...doc, thresholds };
  // Each action that follows the idle threshold says which of its params does (idleThresholdParam).
  const withIdle = (r: Rung): Rung => {
    const param = actionModule(r.action).idleThresholdParam;
    return param ? { ...r, params: { ...r.params, [param]: idle } } : r;
  };
  const ladders = Object.fromEntries(
    Object.entries(doc.mitigation.ladders).map(([cls, rungs]) => [cls, rungs?.map(withIdle)]),
  );
  return { ...doc, thresholds, mitigation: { ...doc.mitigation, ladders } };
}

export interface CliDeps extends WorkflowDeps {
  /** This run's settings: the runbook's, then the operator's options (--mode, --idle-threshold-seconds). */
  readonly settings: RunSettings;
  readonly incidentDir: (incidentId: string) => string;
  readonly runbookDoc: Runbook;
  /** Stops the scripts this process started (SIGINT/SIGTERM): their whole process groups. */
  readonly stopChildren: (signal: NodeJS.Signals) => Promise<void>;
}

export async function loadRunbook(idOrPath: string): Promise<Runbook> {
  try {
    return await loadRunbookDoc(idOrPath, RUNBOOKS_DIR);
  } catch (e) {
    if (e instanceof RunbookFileError) throw new CliError(e.message, 2, { cause: e });
    throw e;
  }
}

export async function buildDeps(o: WiringOptions): Promise<CliDeps> {
  const doc = applyOverrides(await loadRunbook(o.runbook), o.overrides);
  const scripts = await loadScripts(doc, RUNBOOKS_DIR);
  const clock = new SystemClock();
  const out = resolve(o.out ?? "incidents");
  const incidents = new FileIncidentStore(out);
  const local = o.target === "local";
  const localRunner = local ? new LocalCommandRunner() : null;
  const runner: CommandRunner = localRunner ?? (await ssmRunner(o, clock));
  const settings = resolveRunSettings(doc, {
    mode: o.overrides?.mode,
    idleThresholdSeconds: o.overrides?.idleThresholdSeconds,
  });
  const runbook = runbookView(doc, settings);
  return redactingPorts<CliDeps>(
    {
      runner,
      artifacts: new FolderArtifactStore(out),
      incidents,
      clock,
      runbook,
      runbookDoc: doc,
      // Through SSM a command already sent runs to its own time-out on the instance.
      stopChildren: async (signal) => localRunner?.stopAll(signal),
      scripts,
      settings,
      incidentDir: (id) => incidents.incidentDir(id),
      log: {
        info: (m, f) => process.stderr.write(`runbook: ${m}${f ? ` ${JSON.stringify(f)}` : ""}\n`),
        warn: (m, f) => process.stderr.write(`runbook: warning: ${m}${f ? ` ${JSON.stringify(f)}` : ""}\n`),
      },
      parseEvidence,
      // Locally the host is this machine: raw tool outputs land in the incident folder itself.
      rawDirFor: (id, phase) =>
        local ? join(incidents.incidentDir(id), "raw", phase) : `${RAW_BASE}/${id}/${phase}`,
      // On a host reached through SSM the probe keeps raw outputs under a checked 0700 base with retention;
      // locally they land in the incident folder itself (see docs/security.md).
      rawBase: local ? "" : RAW_BASE,
      approve: o.approve ?? (async () => false),
      notify: async (subject, message) => {
        process.stderr.write(`runbook: NOTIFY ${subject}: ${runbook.redactor.text(message).text}\n`);
        return ["stderr"];
      },
    },
    runbook.redactor,
  );
}

/**
 * `--target ssm:i-...` from a laptop: the same workflow through SSM Run Command, with the documents the
 * stack deployed. Their names come from RUNBOOK_SSM_DOCUMENTS (the stack output `SsmDocuments`, JSON:
 * `{"probe":{"documentName":"...","step":"probe"},...}`); the SDK's usual chain gives region and credentials.
 */
export async function ssmRunner(o: WiringOptions, clock: SystemClock): Promise<CommandRunner> {
  const { SSMClient } = await import("@aws-sdk/client-ssm");
  const { SsmCommandRunner } = await import("../lambdas/adapters/aws/ssm-command-runner.js");
  const raw = process.env.RUNBOOK_SSM_DOCUMENTS;
  if (!raw) {
    throw new CliError(
      "ssm: targets need RUNBOOK_SSM_DOCUMENTS: the stack output SsmDocuments (JSON naming the probe and action documents)",
      2,
    );
  }
  let documents: Record<string, { documentName: string; step: string; script?: string | undefined }>;
  try {
    documents = ssmDocumentsSchema.parse(JSON.parse(raw));
  } catch (e) {
    throw new CliError(`RUNBOOK_SSM_DOCUMENTS is not valid: ${(e as Error).message.slice(0, 300)}`, 2, {
      cause: e,
    });
  }
  return new SsmCommandRunner({
    client: new SSMClient(o.region ? { region: o.region } : {}),
    clock,
    documents,
    outputBucket: o.bucket ?? null,
  });
}

/** The commands a document may be named for: the probe, the leak watch and every registered host command. */
const documentNames = () => [
  "probe",
  "leak-watch",
  HEALTH_CHECK_COMMAND.name,
  ...actionCommands().map((c) => c.name),
];
const ssmDocumentsSchema = z
  .record(
    z.string(),
    z.object({
      documentName: z.string().min(1),
      step: z.string().min(1),
      script: z.string().min(1).optional(),
    }),
  )
  .superRefine((docs, ctx) => {
    for (const name of Object.keys(docs))
      if (!documentNames().includes(name))
        ctx.addIssue({
          code: "custom",
          path: [name],
          message: `no command "${name}" (expected: ${documentNames().join(", ")})`,
        });
  });

export async function writeRunPostmortem(incidentDir: string): Promise<string> {
  // Loaded on demand: `diagnose` never pays for Handlebars and the templates.
  const { writePostmortem } = await import("../lambdas/workflows/postmortem.js");
  const r = await writePostmortem(isAbsolute(incidentDir) ? incidentDir : resolve(incidentDir));
  return r.markdownPath;
}
