import * as z from "zod";
import { LEAKED_RESOURCES } from "../forecast/recurrence.js";
import { conditionSchema } from "../runbook/schema.js";
import { jsonSchemaText } from "../shared/json-schema.js";
import { PostmortemError } from "./errors.js";

/**
 * What the postmortem knows about each failure class, as data (runbooks/postmortem/knowledge.yaml):
 * a new class needs YAML, not TypeScript. Class ids are plain strings, checked against the file itself
 * (every action item a class names exists); a diagnosis naming a class the file lacks falls back to
 * `unknown` (and says so).
 */
const idSchema = z.string().regex(/^[a-z][a-z0-9-]*$/, "expected a lower-case id like `alarm-on-fd-usage`");
const text = z.string().min(1);

/**
 * When an action item is offered: only when the evidence says it would change something (no no-op items).
 * `when` is a condition over the first snapshot's metrics (the rules' conditions, docs/rules.md);
 * `knownFixMissing` holds when the recorded framework version lacks a fix of the class's `knownFixes` table.
 * With both, both must hold. Three-valued: when the evidence cannot decide (a metric unavailable, the version
 * unknown), `ifUnknown` keeps the item or leaves it out.
 */
export const actionItemGateSchema = z
  .strictObject({
    when: conditionSchema.optional(),
    knownFixMissing: z.literal(true).optional(),
    ifUnknown: z.enum(["include", "omit"]),
    /** Why the item is offered when its gate holds, for the appendix; `{placeholders}` are filled. */
    because: text,
    /** Why it was left out when its gate does not hold, for the appendix; `{placeholders}` are filled. */
    leftOutBecause: text,
  })
  .refine((g) => g.when !== undefined || g.knownFixMissing !== undefined, {
    message: "a gate needs `when` (a condition) or `knownFixMissing: true`",
  });
export type ActionItemGate = z.infer<typeof actionItemGateSchema>;

export const actionItemKnowledgeSchema = z.strictObject({
  title: text,
  priority: z.enum(["P1", "P2", "P3"]),
  kind: z.enum(["prevent", "mitigate", "detect", "investigate"]),
  /** Markdown with inline code; `{placeholders}` are filled from the record. */
  text,
  snippet: z.strictObject({ language: z.string(), code: text }).optional(),
  /** How a reviewer checks the item is done: a command and what it should show. */
  doneWhen: z.strictObject({ command: text, expect: text }),
  /** Offered only when the evidence says it would change something; absent: always offered. */
  gate: actionItemGateSchema.optional(),
});
export type ActionItemKnowledge = z.infer<typeof actionItemKnowledgeSchema>;

export const knownFixesSchema = z.strictObject({
  product: text,
  fixes: z
    .array(
      z.strictObject({
        id: text,
        url: z.url(),
        title: text,
        /** The first fixed release of each line, e.g. `[8.5.60, 9.0.40, 10.0.0-M10]`. */
        fixedIn: z.array(z.string().regex(/^\d+\.\d+\.\d+(-?(M|RC)\d+)?$/)).min(1),
      }),
    )
    .min(1),
});
export type KnownFixes = z.infer<typeof knownFixesSchema>;

export const classKnowledgeSchema = z.strictObject({
  /** The postmortem title: it must claim only what the class's evidence shows. */
  title: text,
  trigger: text,
  lesson: text,
  /** The proof in one sentence with `{placeholders}`; shown only when every figure in it is known. */
  proof: text.optional(),
  /** Ids from `actionItems`, most important first: the first that applies is "do first". */
  actionItems: z.array(idSchema).min(1),
  /** Ids from `actionItems` that are diagnostics for the human (shown with their commands). */
  diagnostics: z.array(idSchema).default([]),
  openQuestions: z.array(text).default([]),
  /** Contributing factors, each shown when its condition holds on the evidence. */
  contributing: z.array(z.strictObject({ id: idSchema, when: conditionSchema, text })).default([]),
  /** What people try that does not help for this class, and why. */
  wontHelp: z.array(z.strictObject({ what: text, why: text })).default([]),
  knownFixes: knownFixesSchema.optional(),
  /**
   * What the class's cause leaks, when it is a leak: a kill or a restart relieves it and leaves the cause in
   * place, so the postmortem calls such a fix temporary. Only an fd leak gets a time-to-limit forecast from
   * the record's before/after figures. Absent: not a leak.
   */
  leak: z.enum(LEAKED_RESOURCES).optional(),
});
export type ClassKnowledge = z.infer<typeof classKnowledgeSchema>;

export const postmortemKnowledgeSchema = z
  .strictObject({
    apiVersion: z.literal("runbook-autopilot/v1"),
    actionItems: z.record(idSchema, actionItemKnowledgeSchema),
    noDiagnosis: classKnowledgeSchema,
    classes: z.record(idSchema, classKnowledgeSchema),
  })
  .superRefine((k, ctx) => {
    const check = (where: (string | number)[], ids: readonly string[]) =>
      ids.forEach((id, i) => {
        if (!Object.hasOwn(k.actionItems, id))
          ctx.addIssue({ code: "custom", path: [...where, i], message: `unknown action item "${id}"` });
      });
    check(["noDiagnosis", "actionItems"], k.noDiagnosis.actionItems);
    for (const [id, c] of Object.entries(k.classes)) {
      check(["classes", id, "actionItems"], c.actionItems);
      check(["classes", id, "diagnostics"], c.diagnostics);
    }
    if (!Object.hasOwn(k.classes, "unknown"))
      ctx.addIssue({
        code: "custom",
        path: ["classes"],
        message: 'a class "unknown" is required (the fallback)',
      });
  })
  .meta({ id: "PostmortemKnowledge", title: "runbook-autopilot postmortem knowledge per failure class" });
export type PostmortemKnowledge = z.infer<typeof postmortemKnowledgeSchema>;

export class KnowledgeError extends PostmortemError {
  override name = "KnowledgeError";
}

/**
 * Validates knowledge data already parsed (the YAML here, or the JSON a Lambda bundle carries:
 * lambdas/workflows/bundled-postmortem.ts); the error is one line naming the first problem and where.
 */
export function checkPostmortemKnowledge(doc: unknown, source: string): PostmortemKnowledge {
  const parsed = postmortemKnowledgeSchema.safeParse(doc);
  if (!parsed.success) {
    const [first] = parsed.error.issues;
    const where = first?.path.length ? first.path.join(".") : "(root)";
    throw new KnowledgeError(`${source}: ${where}: ${first?.message ?? "invalid"}`);
  }
  return parsed.data;
}

/** The knowledge of a class id, `unknown`'s for an id the file lacks, `noDiagnosis` for none. */
export function classKnowledge(k: PostmortemKnowledge, classId: string | null): ClassKnowledge {
  if (classId === null) return k.noDiagnosis;
  return k.classes[classId] ?? k.classes.unknown ?? k.noDiagnosis;
}

/** The knowledge file's JSON Schema text, as committed in `docs/postmortem-knowledge.schema.json`. */
export function knowledgeJsonSchemaText(): string {
  return jsonSchemaText(postmortemKnowledgeSchema, "postmortem-knowledge.schema.json");
}
