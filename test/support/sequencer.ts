import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * Longest file first, from the measured durations in test/durations.json (seconds per file, written by
 * `UPDATE_TEST_DURATIONS=1 npm test`). Two workers take files from the front of the list, so starting the
 * long lab files first keeps both busy to the end instead of leaving one long file alone at the tail
 * (vitest's own order needs a results cache, which a fresh clone in CI does not have: it falls back to
 * file size). A file not yet measured counts as a typical one of its kind. Groups (`sequence.groupOrder`)
 * still run in order.
 */
const DURATIONS: Record<string, number> = JSON.parse(
  readFileSync(join(import.meta.dirname, "..", "durations.json"), "utf8"),
) as Record<string, number>;
const UNMEASURED_E2E_SECONDS = 60;
const UNMEASURED_UNIT_SECONDS = 5;

export function expectedSeconds(file: string): number {
  return DURATIONS[file] ?? (file.startsWith("test/e2e/") ? UNMEASURED_E2E_SECONDS : UNMEASURED_UNIT_SECONDS);
}

export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const seconds = (f: TestSpecification) => expectedSeconds(relative(root, f.moduleId));
    return [...files].sort(
      (a, b) =>
        a.project.config.sequence.groupOrder - b.project.config.sequence.groupOrder ||
        seconds(b) - seconds(a) ||
        a.moduleId.localeCompare(b.moduleId),
    );
  }
}
