import { parse as parseYaml } from "yaml";
import { checkPostmortemKnowledge, KnowledgeError, type PostmortemKnowledge } from "./knowledge-schema.js";

/**
 * The postmortem knowledge from its YAML (runbooks/postmortem/knowledge.yaml). The schema and everything
 * that reads the knowledge are in knowledge-schema.ts, without the YAML parser: a Lambda bundle reads the
 * knowledge as JSON written at synth (lib/lambda-bundle.ts) and must not carry `yaml` (~112 KiB).
 */
export * from "./knowledge-schema.js";

/** Parses and validates the knowledge YAML; the error is one line naming the first problem and where. */
export function parsePostmortemKnowledge(yamlText: string, source: string): PostmortemKnowledge {
  let doc: unknown;
  try {
    doc = parseYaml(yamlText);
  } catch (error) {
    throw new KnowledgeError(`${source}: not YAML: ${(error as Error).message.split("\n")[0]}`, {
      cause: error,
    });
  }
  return checkPostmortemKnowledge(doc, source);
}
