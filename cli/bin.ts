/**
 * The `runbook` command of the installed package (bundled into dist/cli/runbook.mjs by scripts/build.ts).
 * `runbook --version` and `runbook --help` are answered here without loading the commands (commander,
 * zod, the option schemas): a cold start of Node alone. The help text is the packaged CLI's own,
 * captured at build time (scripts/build.ts defines __RUNBOOK_HELP__); anything else loads the commands.
 */
declare const __RUNBOOK_HELP__: string | undefined;

const args = process.argv.slice(2);
const only = args.length === 1 ? args[0] : undefined;
if (only === "--version" || only === "-V") {
  const { packageVersion } = await import("../lambdas/adapters/local/package-root.js");
  process.stdout.write(`${packageVersion()}\n`);
} else if ((only === "--help" || only === "-h") && typeof __RUNBOOK_HELP__ === "string") {
  process.stdout.write(__RUNBOOK_HELP__);
} else {
  // Before any schema exists: no zod JIT in a one-shot command (cli/zod-jitless.ts). The Lambdas, whose
  // containers parse again, keep it.
  await import("./zod-jitless.js");
  // The runbooks parsed at build time, next to this bundle (lambdas/workflows/runbook-cache.ts): from
  // source there are none there, and the YAML is parsed as always.
  const [{ useRunbookCache }, { fileURLToPath }] = await Promise.all([
    import("../lambdas/workflows/runbook-cache.js"),
    import("node:url"),
  ]);
  useRunbookCache(fileURLToPath(new URL("./runbooks/", import.meta.url)));
  const { main } = await import("./main.js");
  process.exitCode = await main(process.argv);
}
