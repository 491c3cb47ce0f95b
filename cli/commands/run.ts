import { userInfo } from "node:os";
import { createInterface } from "node:readline/promises";
import type { Command } from "commander";
import type { PlannedAction } from "../../lambdas/core/incident/schema.js";
import type { RungApproval } from "../../lambdas/workflows/deps.js";
import type { Recorder } from "../../lambdas/workflows/recorder.js";
import { UsageError } from "../errors.js";
import { handleInterrupts } from "../interrupt.js";
import { addTargetOptions, parseOptions, runOptionsSchema } from "../options.js";
import { checkPid, checkRawFolderPath, checkWritableDir } from "../preflight.js";

export function registerRunCommand(program: Command): void {
  addTargetOptions(
    program
      .command("run")
      .description(
        "Run a runbook end to end: collect, diagnose, save evidence, plan, apply (per mode), verify, record.",
      )
      .argument("<runbook>", "runbook id, e.g. api-unreachable"),
  )
    .option(
      "--mode <mode>",
      "plan (print, change nothing) | approve (ask per rung) | auto; default from the runbook",
    )
    .option("--out <dir>", "where incident folders are written", "incidents")
    .option("--restart-command <cmd>", "command that starts the service again after the runbook stopped it")
    .option("--service <unit>", "systemd unit to restart")
    .option("--no-postmortem", "do not write postmortem.md/html")
    .option(
      "--runbook <file>",
      "runbook override (YAML/JSON with `extends: <runbook>`, docs/runbook-overrides.md) or a whole runbook file",
    )
    .action(runCommand);
}

/** `runbook run`'s options checked: one clear line and a usage exit for bad input, before anything runs. */
async function runRequest(runbookId: string, raw: Record<string, unknown>) {
  const file = raw.runbook === undefined ? undefined : String(raw.runbook);
  if (file !== undefined && !/\.(ya?ml|json)$/.test(file)) {
    throw new UsageError(`--runbook: expected a .yaml, .yml or .json file (got '${file.slice(0, 60)}')`);
  }
  const o = parseOptions(runOptionsSchema, { ...raw, runbook: runbookId });
  await checkPid(o);
  checkRawFolderPath("--out", o.out, o.target);
  await checkWritableDir("--out", o.out);
  return { file, o };
}

/** Runs the runbook on the target, writes the postmortem, prints the record or its summary. */
async function runCommand(runbookId: string, raw: Record<string, unknown>): Promise<void> {
  const { file, o } = await runRequest(runbookId, raw);
  // Loaded when the command runs, not at start-up: `runbook --version`/`--help` stay fast.
  const [{ EXIT_CODES }, { formatRunSummary }, { runRunbook }, { buildDeps, writeRunPostmortem }] =
    await Promise.all([
      import("../../lambdas/core/incident/record.js"),
      import("./run-summary.js"),
      import("../../lambdas/workflows/run-runbook.js"),
      import("../wiring.js"),
    ]);
  const deps = await buildDeps({
    runbook: file ?? o.runbook,
    target: o.target,
    region: o.region,
    bucket: o.bucket,
    overrides: o,
    out: o.out,
    approve: askOnTerminal,
  });
  if (deps.runbookDoc.id !== o.runbook) {
    throw new UsageError(`--runbook ${file}: it is runbook '${deps.runbookDoc.id}', not '${o.runbook}'`);
  }
  let rec: Recorder | null = null;
  const removeHandlers = handleInterrupts(deps.stopChildren, async (signal) => {
    await rec?.interrupt(signal);
  });
  const record = await runRunbook(deps, {
    target: o.target,
    port: o.port,
    pid: o.pid ?? null,
    healthPath: o.healthPath,
    logPath: o.logPath ?? null,
    restart:
      o.service || o.restartCommand
        ? { service: o.service ?? null, command: o.restartCommand ?? null }
        : null,
    mode: deps.settings.mode,
    trigger: {
      kind: "manual",
      at: deps.clock.now().toISOString(),
      alarmName: null,
      alarmReason: null,
      source: `cli:${operatorName()}`,
    },
    onStart: (r) => {
      rec = r;
      process.stderr.write(
        `runbook: incident ${r.record.incidentId} → ${deps.incidentDir(r.record.incidentId)}\n`,
      );
    },
  });
  removeHandlers();
  const dir = deps.incidentDir(record.incidentId);
  let postmortem: string | null = null;
  if (o.postmortem) {
    try {
      postmortem = await writeRunPostmortem(dir);
    } catch (e) {
      process.stderr.write(`runbook: postmortem not written: ${(e as Error).message}\n`);
    }
  }
  process.stdout.write(
    o.output === "json" ? `${JSON.stringify(record, null, 2)}\n` : formatRunSummary(record, dir, postmortem),
  );
  process.exitCode = EXIT_CODES[record.status];
}

function operatorName(): string {
  try {
    return process.env.SUDO_USER || process.env.USER || userInfo().username;
  } catch {
    return "unknown";
  }
}

/** Mode approve on a terminal: one yes/no per destructive rung. Without a terminal, nothing is approved. */
async function askOnTerminal(a: PlannedAction): Promise<RungApproval> {
  if (!process.stdin.isTTY) {
    process.stderr.write(`runbook: approval needed for ${a.action} but there is no terminal: declined\n`);
    return { declined: "no terminal to ask, so nobody approved it" };
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`Apply rung ${a.rung + 1}, ${a.action}?\n  ${a.description}\n[y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
