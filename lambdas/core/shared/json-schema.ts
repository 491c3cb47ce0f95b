import * as z from "zod";

/**
 * A zod schema's JSON Schema text (draft 2020-12, the input side, as a file author writes it), with its
 * `$id` under https://runbook-autopilot.dev/schemas/. Pure; scripts/gen-runbook-schema.ts writes the files.
 */
export function jsonSchemaText(schema: z.ZodType, fileName: string): string {
  const json = z.toJSONSchema(schema, { target: "draft-2020-12", io: "input", unrepresentable: "any" });
  return `${JSON.stringify({ ...json, $id: `https://runbook-autopilot.dev/schemas/${fileName}` }, null, 2)}\n`;
}
