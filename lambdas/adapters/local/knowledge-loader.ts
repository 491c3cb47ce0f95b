import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import {
  KnowledgeError,
  type PostmortemKnowledge,
  parsePostmortemKnowledge,
} from "../../core/postmortem/knowledge.js";

/** The class knowledge shipped with the package: runbooks/postmortem/knowledge.yaml. */
export const DEFAULT_KNOWLEDGE_FILE = fileURLToPath(
  new URL("../../../runbooks/postmortem/knowledge.yaml", import.meta.url),
);

/** Reads and validates the postmortem's class knowledge (one line naming the problem when it is wrong). */
export async function loadPostmortemKnowledge(path = DEFAULT_KNOWLEDGE_FILE): Promise<PostmortemKnowledge> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new KnowledgeError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  return parsePostmortemKnowledge(text, path);
}
