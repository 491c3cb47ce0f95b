import { configDefaults, defineConfig } from "vitest/config";
import LongestFirstSequencer from "./test/support/sequencer.js";

/**
 * Tests that measure a forecast against real wall-clock time (the watch e2e) run in their own group,
 * after everything else, so the JVM labs of other files do not skew the timing they measure.
 */
const TIMING = ["test/e2e/watch.test.ts"];

export default defineConfig({
  test: {
    // Three files at a time on two cores: much of an end-to-end file's time is waiting (idle thresholds,
    // health time-outs, holders pacing their clients, JVM start-up), so a third worker fills it. The
    // labs' tests are proven under that load (docs/benchmarks.md, "The suite's own time").
    maxWorkers: 3,
    // Hang guards, not speed limits (speed is measured by `npm run bench`): a CDK synth that takes 9 s
    // on an idle machine took over 30 s on a loaded one, so the guards leave a wide margin.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    allowOnly: false,
    // Longest file first (test/durations.json), so the two workers finish together.
    sequence: { sequencer: LongestFirstSequencer },
    passWithNoTests: false,
    // Bundles the CLI the tests start (test/support/cli.ts BIN), once per run.
    globalSetup: ["test/support/global-setup.ts"],
    projects: [
      {
        extends: true,
        test: {
          name: "suite",
          include: ["test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, ...TIMING],
          sequence: { groupOrder: 0 },
        },
      },
      { extends: true, test: { name: "timing", include: TIMING, sequence: { groupOrder: 1 } } },
    ],
  },
});
