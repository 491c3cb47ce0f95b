import { z } from "zod";
import { runbookSchema } from "./schema.js";

/** The runbook JSON Schema text, as committed in `docs/runbook.schema.json` (pure; the script writes it). */
export function runbookJsonSchemaText(): string {
  const schema = z.toJSONSchema(runbookSchema, {
    target: "draft-2020-12",
    io: "input",
    unrepresentable: "any",
  });
  return `${JSON.stringify({ ...schema, $id: "https://runbook-autopilot.dev/schemas/runbook.schema.json" }, null, 2)}\n`;
}
