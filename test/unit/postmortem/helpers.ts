import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type IncidentRecord, incidentRecordSchema } from "../../../lambdas/core/incident/schema.js";

export const FIXTURES_DIR = fileURLToPath(new URL("../../fixtures/records/", import.meta.url));
/** Fixed clock for every rendered snapshot. */
export const GENERATED_AT = "2025-03-12T09:00:00.000Z";

export function fixtureNames(): string[] {
  return readdirSync(FIXTURES_DIR)
    .filter((f) => f.endsWith(".json"))
    .map((f) => basename(f, ".json"))
    .sort();
}

export function loadFixture(name: string): IncidentRecord {
  return incidentRecordSchema.parse(JSON.parse(readFileSync(join(FIXTURES_DIR, `${name}.json`), "utf8")));
}
