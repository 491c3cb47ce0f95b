import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type IncidentRecord, incidentRecordSchema } from "../../../lambdas/core/incident/schema.js";

export const FIXTURES_DIR = fileURLToPath(new URL("../../fixtures/records/", import.meta.url));
/** Fixed clock for every rendered snapshot. */
export const GENERATED_AT = "2025-03-12T09:00:00.000Z";

/** Hand-made fixtures (edge cases, from test/support/record-factory.ts) by name. */
export function handMadeFixtureNames(): string[] {
  return readdirSync(FIXTURES_DIR)
    .filter((f) => f.endsWith(".json"))
    .map((f) => basename(f, ".json"))
    .sort();
}

/** Runs recorded against the lab (scripts/record-runs.ts), as `recorded/<scenario>`. */
export function recordedFixtureNames(): string[] {
  return readdirSync(join(FIXTURES_DIR, "recorded"))
    .filter((f) => f.endsWith(".json"))
    .map((f) => `recorded/${basename(f, ".json")}`)
    .sort();
}

/** Every fixture: the hand-made ones, then the recorded runs. */
export function fixtureNames(): string[] {
  return [...handMadeFixtureNames(), ...recordedFixtureNames()];
}

export function loadFixture(name: string): IncidentRecord {
  return incidentRecordSchema.parse(JSON.parse(readFileSync(join(FIXTURES_DIR, `${name}.json`), "utf8")));
}
