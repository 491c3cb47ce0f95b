#!/usr/bin/env node
// The `runbook` CLI. Runs the TypeScript sources directly through tsx, so a fresh
// clone needs only `npm ci`: no build step that could go stale.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../cli/main.ts");
process.exitCode = await main(process.argv);
