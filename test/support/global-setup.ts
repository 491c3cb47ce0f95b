import { buildTestCli } from "../../scripts/build.js";

/**
 * Once per vitest run, before any test file: bundles the CLI the tests start (`BIN` in
 * test/support/cli.ts) from the sources as they are now, so no test runs a stale build and none pays
 * for compiling TypeScript at each CLI start. scripts/build.ts, buildTestCli.
 */
export default async function setup(): Promise<void> {
  await buildTestCli();
}
