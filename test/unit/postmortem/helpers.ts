import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type IncidentRecord, incidentRecordSchema } from "../../../lambdas/core/incident/schema.js";
import { buildPostmortem } from "../../../lambdas/core/postmortem/build-postmortem.js";
import {
  type PostmortemKnowledge,
  parsePostmortemKnowledge,
} from "../../../lambdas/core/postmortem/knowledge.js";
import type { Postmortem } from "../../../lambdas/core/postmortem/schema.js";

export const FIXTURES_DIR = fileURLToPath(new URL("../../fixtures/records/", import.meta.url));
export const KNOWLEDGE_FILE = fileURLToPath(
  new URL("../../../runbooks/postmortem/knowledge.yaml", import.meta.url),
);
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

/** The shipped class knowledge (runbooks/postmortem/knowledge.yaml). */
export const KNOWLEDGE: PostmortemKnowledge = parsePostmortemKnowledge(
  readFileSync(KNOWLEDGE_FILE, "utf8"),
  KNOWLEDGE_FILE,
);

/** The model of a record with the shipped knowledge and the fixed clock. */
export function model(record: IncidentRecord, owner?: string): Postmortem {
  return buildPostmortem(record, {
    knowledge: KNOWLEDGE,
    generatedAt: GENERATED_AT,
    ...(owner ? { owner } : {}),
  });
}

/** The main document of a rendered Markdown postmortem: everything before the Appendix. */
export function mainPart(markdown: string): string {
  const i = markdown.indexOf("\n## Appendix\n");
  if (i < 0) throw new Error("no '## Appendix' heading in the Markdown");
  return markdown.slice(0, i);
}

/** Words as a reader counts them: tokens with a letter or a digit (table pipes and dashes are not words). */
export function wordCount(text: string): number {
  return text.split(/\s+/).filter((w) => /[A-Za-z0-9]/.test(w)).length;
}
