// Writes docs/runbook.schema.json from the zod runbook schema, and docs/postmortem-knowledge.schema.json
// from the postmortem's class knowledge schema. Run: npx tsx scripts/gen-runbook-schema.ts
import { writeFileSync } from "node:fs";
import { knowledgeJsonSchemaText } from "../lambdas/core/postmortem/knowledge.js";
import { runbookJsonSchemaText } from "../lambdas/core/runbook/json-schema.js";

for (const [file, text] of [
  ["../docs/runbook.schema.json", runbookJsonSchemaText()],
  ["../docs/postmortem-knowledge.schema.json", knowledgeJsonSchemaText()],
] as const) {
  const out = new URL(file, import.meta.url);
  writeFileSync(out, text);
  console.log(`wrote ${out.pathname}`);
}
