import type { Command } from "commander";
import { CliError } from "../errors.js";
import { handleInterrupts } from "../interrupt.js";
import { addTargetOptions, diagnoseOptionsSchema, parseOptions } from "../options.js";
import { checkPid } from "../preflight.js";

export function registerDiagnoseCommand(program: Command): void {
  addTargetOptions(
    program
      .command("diagnose")
      .description("Collect evidence on a target and name the root cause. Changes nothing."),
  )
    .option(
      "--runbook <id|file>",
      "runbook id (runbooks/<id>.yaml), or a file: a whole runbook, or an override (`extends: <id>`, docs/runbook-overrides.md)",
      "api-unreachable",
    )
    .option("--service <unit>", "systemd unit of the service: why its process exited, when it is down")
    .action(async (raw: Record<string, unknown>) => {
      const o = parseOptions(diagnoseOptionsSchema, raw);
      await checkPid(o);
      // Loaded when the command runs, not at start-up: `runbook --version`/`--help` stay fast.
      const [{ formatDiagnosisText }, { DiagnoseError, diagnoseTarget }, { buildDeps }] = await Promise.all([
        import("../../lambdas/core/diagnosis/format.js"),
        import("../../lambdas/workflows/diagnose.js"),
        import("../wiring.js"),
      ]);
      const deps = await buildDeps({
        runbook: o.runbook,
        target: o.target,
        region: o.region,
        bucket: o.bucket,
        overrides: o,
      });
      const t = {
        target: o.target,
        port: o.port,
        pid: o.pid ?? null,
        healthPath: o.healthPath,
        logPath: o.logPath ?? null,
        restart: null,
        service: o.service ?? null,
      };
      const removeHandlers = handleInterrupts(deps.stopChildren);
      try {
        const r = await diagnoseTarget(deps, t);
        if (o.output === "json") {
          const doc = { ...r.diagnosis, evidence: r.evidence, durationMs: r.durationMs };
          process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
        } else {
          process.stdout.write(`${formatDiagnosisText(r.diagnosis, r.evidence, r.durationMs)}\n`);
        }
      } catch (e) {
        if (e instanceof DiagnoseError) {
          const stderr = e.probe.stderr.trim().split("\n").slice(-3).join(" | ");
          throw new CliError(
            `diagnose failed on ${o.target}: ${e.message}${stderr ? ` (stderr: ${stderr.slice(0, 300)})` : ""}`,
            1,
            { cause: e },
          );
        }
        throw e;
      } finally {
        removeHandlers();
      }
    });
}
