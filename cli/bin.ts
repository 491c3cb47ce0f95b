import { main } from "./main.js";

/** The `runbook` command of the installed package (bundled into dist/cli/runbook.mjs by scripts/build.ts). */
process.exitCode = await main(process.argv);
