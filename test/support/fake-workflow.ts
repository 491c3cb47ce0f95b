import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FolderArtifactStore } from "../../lambdas/adapters/local/artifact-store.js";
import { SystemClock } from "../../lambdas/adapters/local/clock.js";
import { FileIncidentStore } from "../../lambdas/adapters/local/incident-store.js";
import type { Evidence } from "../../lambdas/core/evidence/schema.js";
import type { Runbook } from "../../lambdas/core/runbook/schema.js";
import type { CommandRequest, CommandResult, CommandRunner } from "../../lambdas/ports/index.js";
import type { WorkflowDeps } from "../../lambdas/workflows/deps.js";
import { type RunOptions, runRunbook } from "../../lambdas/workflows/run-runbook.js";
import { loadScripts, runbookView } from "../../lambdas/workflows/runbook-files.js";

/**
 * The workflows on fake hosts: the real steps, recorder, stores (folder and file) and rules engine,
 * with a runner that answers each command from a table instead of running scripts (those are tested
 * on real sockets in test/unit/actions). The probe's answer names an Evidence document directly.
 */
export type Answer = (request: CommandRequest, nth: number) => Partial<CommandResult> & { stdout: string };

export class TableRunner implements CommandRunner {
  readonly requests: CommandRequest[] = [];
  constructor(private readonly answers: Readonly<Record<string, Answer>>) {}
  async run(_target: string, request: CommandRequest): Promise<CommandResult> {
    const nth = this.requests.filter((r) => r.name === request.name).length;
    this.requests.push(request);
    const answer = this.answers[request.name];
    if (!answer) throw new Error(`no answer for command ${request.name}`);
    return {
      status: "Success",
      exitCode: 0,
      stderr: "",
      stdoutTruncated: false,
      durationMs: 1,
      outputUri: null,
      detail: null,
      ...answer(request, nth),
    };
  }
}

/** check-health's output: `outcomes` one per attempt, `recovered=` after. */
export function healthOutput(...outcomes: ("ok" | "timeout" | "refused")[]): string {
  const lines = outcomes.map(
    (o, i) => `attempt=${i + 1} outcome=${o} status=${o === "ok" ? 200 : "000"} latencyMs=3 curlExit=0`,
  );
  return [...lines, `recovered=${outcomes.includes("ok")}`].join("\n");
}

/**
 * Runs the whole runbook on a fake host. `probe` gives the Evidence of the n-th collection
 * (0 = before); the probe's stdout is only a key for it.
 */
export async function runOnFakeHost(o: {
  readonly doc: Runbook;
  readonly runbooksDir?: string;
  readonly probe: (nth: number) => Evidence;
  readonly answers: Readonly<Record<string, Answer>>;
  readonly run?: Partial<RunOptions>;
  /** How a person answers an approval (mode approve); default: approved. */
  readonly approve?: WorkflowDeps["approve"];
}) {
  const out = mkdtempSync(join(tmpdir(), "fake-host-"));
  const runner = new TableRunner({ probe: (_r, nth) => ({ stdout: `evidence ${nth}` }), ...o.answers });
  const notices: string[] = [];
  const deps: WorkflowDeps = {
    runner,
    artifacts: new FolderArtifactStore(out),
    incidents: new FileIncidentStore(out),
    clock: new SystemClock(),
    runbook: runbookView(o.doc),
    scripts: await loadScripts(o.doc, o.runbooksDir),
    log: { info: () => undefined, warn: () => undefined },
    parseEvidence: (stdout) => ({ ok: true, value: o.probe(Number(stdout.split(" ")[1])) }),
    rawDirFor: () => "",
    approve: o.approve ?? (async () => true),
    notify: async (subject) => {
      notices.push(subject);
      return ["test"];
    },
  };
  const record = await runRunbook(deps, {
    target: "local",
    port: 8080,
    pid: null,
    healthPath: "/health",
    logPath: null,
    restart: null,
    mode: "auto",
    trigger: {
      kind: "manual",
      at: new Date().toISOString(),
      alarmName: null,
      alarmReason: null,
      source: "test",
    },
    ...o.run,
  });
  return { record, requests: runner.requests, notices, out };
}
