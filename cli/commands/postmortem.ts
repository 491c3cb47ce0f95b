import { isAbsolute, resolve } from "node:path";
import type { Command } from "commander";
import { CliError } from "../errors.js";

const abs = (p: string): string => (isAbsolute(p) ? p : resolve(p));

/** `runbook postmortem DIR/<incident-id> [--templates DIR] [--out DIR]`: re-render from incident.json. */
export function registerPostmortemCommand(program: Command): void {
  program
    .command("postmortem")
    .description("Re-render postmortem.md and postmortem.html from a saved incident folder's incident.json.")
    .argument(
      "<incident-dir>",
      "incident folder holding incident.json, e.g. incidents/inc-20250311-021400-ws",
    )
    .option("--templates <dir>", "custom templates; files missing there come from runbooks/templates")
    .option("--out <dir>", "where to write (default: the incident folder)")
    .option("--owner <name>", "owner on every action item (default: _to be filled_)")
    .action(async (dir: string, o: { templates?: string; out?: string; owner?: string }) => {
      const [{ PostmortemError }, { writePostmortem }] = await Promise.all([
        import("../../lambdas/core/postmortem/errors.js"),
        import("../../lambdas/workflows/postmortem.js"),
      ]);
      try {
        const written = await writePostmortem(abs(dir), {
          ...(o.templates ? { templatesDir: abs(o.templates) } : {}),
          ...(o.out ? { outDir: abs(o.out) } : {}),
          ...(o.owner ? { owner: o.owner } : {}),
        });
        process.stdout.write(
          `${[written.markdownPath, written.htmlPath, ...written.assetPaths].join("\n")}\n`,
        );
      } catch (error) {
        // Expected input problems (missing or invalid incident.json, bad templates): one clear line, exit 1.
        if (error instanceof PostmortemError) throw new CliError(error.message, 1, { cause: error });
        throw error;
      }
    });
}
