import { Command, CommanderError } from "commander";
import { packageVersion } from "../lambdas/adapters/local/package-root.js";
import { registerApproveCommand } from "./commands/approve.js";
import { registerDiagnoseCommand } from "./commands/diagnose.js";
import { registerLabCommand } from "./commands/lab.js";
import { registerPostmortemCommand } from "./commands/postmortem.js";
import { registerRunCommand } from "./commands/run.js";
import { registerWatchCommand } from "./commands/watch.js";
import { CliError } from "./errors.js";

export function buildProgram(): Command {
  const program = new Command()
    .name("runbook")
    .description(
      "Incident runbooks for JVM services: collect evidence, name the root cause, mitigate safely, verify, write the postmortem.",
    )
    .version(packageVersion(), "-V, --version")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  registerDiagnoseCommand(program);
  registerRunCommand(program);
  registerLabCommand(program);
  registerPostmortemCommand(program);
  registerWatchCommand(program);
  registerApproveCommand(program);
  return program;
}

/** Entry point: returns the process exit code; one top-level catch turns errors into messages. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander already printed its message (or the help/version text).
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof CliError) {
      process.stderr.write(`runbook: ${error.message}\n`);
      return error.exitCode;
    }
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    process.stderr.write(`runbook: unexpected error: ${message}\n`);
    return 1;
  }
}
