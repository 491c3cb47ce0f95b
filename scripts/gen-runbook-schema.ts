// Writes docs/runbook.schema.json from the zod runbook schema. Run: npx tsx scripts/gen-runbook-schema.ts
import { writeFileSync } from "node:fs";
import { runbookJsonSchemaText } from "../lambdas/core/runbook/json-schema.js";

const out = new URL("../docs/runbook.schema.json", import.meta.url);
writeFileSync(out, runbookJsonSchemaText());
console.log(`wrote ${out.pathname}`);
