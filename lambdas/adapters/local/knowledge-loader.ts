import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  KnowledgeError,
  type PostmortemKnowledge,
  parsePostmortemKnowledge,
} from "../../core/postmortem/knowledge.js";
import { packageRunbooksDir } from "./package-root.js";

/**
 * The class knowledge shipped with the package: runbooks/postmortem/knowledge.yaml, found from the
 * package root (not from this module's depth, which differs in the bundled CLI's chunks).
 */
export const defaultKnowledgeFile = (): string => join(packageRunbooksDir(), "postmortem/knowledge.yaml");

/** Reads and validates the postmortem's class knowledge (one line naming the problem when it is wrong). */
export async function loadPostmortemKnowledge(path = defaultKnowledgeFile()): Promise<PostmortemKnowledge> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new KnowledgeError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  return parsePostmortemKnowledge(text, path);
}
