import type { Command } from "commander";
import { UsageError } from "../errors.js";

/**
 * `runbook lab` in the installed package. The reproduction lab (an embedded Tomcat compiled from
 * lab/java with the Debian jars, load holders run through tsx) is a tool of the source repository and
 * is not shipped: scripts/build.ts puts this module in place of commands/lab.ts when bundling the CLI.
 */
export function registerLabCommand(program: Command): void {
  program
    .command("lab", { hidden: true })
    .description("the reproduction lab (source repository only)")
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new UsageError(
        "the reproduction lab ships with the source repository, not the package: clone runbook-autopilot and run `node bin/runbook.js lab ...` there (docs/lab.md)",
      );
    });
}
