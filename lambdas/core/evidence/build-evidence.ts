import { ParseError, type ParseResult, parsed } from "../parsers/errors.js";
import { type Evidence, evidenceSchema } from "./schema.js";

/**
 * Validates an assembled Evidence document against the zod schema. Every producer (the probe
 * output parser, fixture scripts) goes through here, so an invalid document never leaves the core.
 * Returns a ParseError (parser "evidence", line 0) naming the first failing field.
 */
export function buildEvidence(draft: Evidence): ParseResult<Evidence> {
  const result = evidenceSchema.safeParse(draft);
  if (result.success) return parsed(result.data);
  const issue = result.error.issues[0];
  const path = issue ? issue.path.map(String).join(".") : "";
  return {
    ok: false,
    error: new ParseError(
      {
        parser: "evidence",
        line: 0,
        expected: `a valid Evidence document (${path || "root"}: ${issue?.message ?? "invalid"})`,
        excerpt: path,
      },
      { cause: result.error },
    ),
  };
}
