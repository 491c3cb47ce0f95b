import { jsonSchemaText } from "../shared/json-schema.js";
import { runbookSchema } from "./schema.js";

/** The runbook JSON Schema text, as committed in `docs/runbook.schema.json`. */
export function runbookJsonSchemaText(): string {
  return jsonSchemaText(runbookSchema, "runbook.schema.json");
}
