#!/usr/bin/env node
// The `runbook` command. From the installed package it runs the compiled bundle, dist/cli/runbook.mjs
// (scripts/build.ts). In a source checkout (cli/main.ts is there) it runs the TypeScript through tsx,
// so the tests and the demo never run a stale build. One stat decides; docs/packaging.md.
import { existsSync } from "node:fs";

if (existsSync(new URL("../cli/main.ts", import.meta.url))) {
  const { register } = await import("tsx/esm/api");
  register();
  // As the bundled entry does (cli/bin.ts): no zod JIT in a one-shot command.
  await import("../cli/zod-jitless.ts");
  const { main } = await import("../cli/main.ts");
  process.exitCode = await main(process.argv);
} else {
  await import("../dist/cli/runbook.mjs");
}
