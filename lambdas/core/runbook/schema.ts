import * as z from "zod";
import { failureClassIdSchema } from "../diagnosis/schema.js";
import { actionIdSchema, modeSchema } from "../incident/schema.js";
import {
  DEFAULT_REDACTION_RULES,
  encodeForProbe,
  PROBE_PATTERNS_MAX_CHARS,
  ruleIssue,
} from "../redact/index.js";
import { METRIC_NAMES } from "../rules/metrics.js";

/**
 * The runbook document (`runbooks/*.yaml`): probe settings, thresholds, failure classes with their
 * conditions, differential hypotheses, mitigation ladders and verification. Structure only here;
 * references (thresholds, metric types, template placeholders) are checked by `parseRunbook`.
 * `docs/runbook.schema.json` is generated from this file (`scripts/gen-runbook-schema.ts`).
 */
export const RUNBOOK_API_VERSION = "runbook-autopilot/v1" as const;

export const OPS = ["eq", "ne", "gt", "gte", "lt", "lte", "between", "in"] as const;
export const opSchema = z.enum(OPS);
export type Op = z.infer<typeof opSchema>;

const idSchema = z.string().regex(/^[a-z][a-z0-9-]*$/, "expected a lower-case id like `with-histogram`");
export const thresholdNameSchema = z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/);
/** `$name` refers to `thresholds.name`. */
export const thresholdRefSchema = z
  .string()
  .regex(/^\$[A-Za-z][A-Za-z0-9]*$/)
  .meta({ description: "Reference to a named threshold: `$name`" });

export const scalarSchema = z.union([z.number(), z.boolean(), z.string()]);
export const conditionValueSchema = z.union([scalarSchema, z.array(scalarSchema).min(1)]).meta({
  description: "A literal, a `$threshold` reference, a `[low, high]` pair for `between`, or a list for `in`",
});

export const comparisonSchema = z
  .strictObject({
    metric: z.enum(METRIC_NAMES),
    op: opSchema,
    value: conditionValueSchema,
  })
  .meta({ id: "Comparison", description: "A derived metric compared with a value" });
export type Comparison = z.infer<typeof comparisonSchema>;

export type Condition = Comparison | { all: Condition[] } | { any: Condition[] } | { not: Condition };

export const conditionSchema: z.ZodType<Condition> = z
  .lazy(() =>
    z.union([
      comparisonSchema,
      z.strictObject({ all: z.array(conditionSchema).min(1) }),
      z.strictObject({ any: z.array(conditionSchema).min(1) }),
      z.strictObject({ not: conditionSchema }),
    ]),
  )
  .meta({
    id: "Condition",
    description: "A comparison, or `all` / `any` of conditions, or `not` a condition (three-valued)",
  });

/** An evidence line: a metric (default sentence) or a metric with a `{metric}` text template. */
export const citeSchema = z.union([
  z.enum(METRIC_NAMES),
  z.strictObject({ metric: z.enum(METRIC_NAMES), text: z.string().min(1) }),
]);
export type Cite = z.infer<typeof citeSchema>;

export const confidenceSchema = z.number().min(0).max(1);

export const variantSchema = z.strictObject({
  id: idSchema,
  confidence: confidenceSchema,
  /** Overrides the class summary for this variant (`{metric}` placeholders allowed). */
  summary: z.string().min(1).optional(),
  /** Why this variant is weaker than the best one; copied into the finding. */
  caveat: z.string().min(1).optional(),
  /** Extra evidence lines for this variant, after the class's `cite`. */
  cite: z.array(citeSchema).optional(),
  all: z.array(conditionSchema).min(1),
});
export type Variant = z.infer<typeof variantSchema>;

export const conditionalCaveatSchema = z.strictObject({ when: conditionSchema, text: z.string().min(1) });

export const classKindSchema = z.enum(["cause", "symptom", "location"]);

export const failureClassSchema = z.strictObject({
  id: failureClassIdSchema,
  title: z.string().min(1),
  kind: classKindSchema,
  /** Tie-break between findings of equal confidence (higher wins). */
  priority: z.number().int().min(0).max(1000),
  /** The hypothesis sentence used when the class is ruled out (default: the title). */
  hypothesis: z.string().min(1).optional(),
  /** Finding summary; `{metric}` placeholders are filled from the derived metrics. */
  summary: z.string().min(1),
  /** Tried in order; the first that holds gives the finding its confidence. */
  variants: z.array(variantSchema).min(1),
  /** When this holds (and no variant does), the class is ruled out, citing the metrics that decided it. */
  ruledOutBy: conditionSchema.optional(),
  /** Caveats added to the finding when their condition holds. */
  caveats: z.array(conditionalCaveatSchema).optional(),
  /** Evidence lines of the finding. */
  cite: z.array(citeSchema).min(1),
});
export type FailureClass = z.infer<typeof failureClassSchema>;

export const hypothesisSchema = z.strictObject({
  id: idSchema,
  hypothesis: z.string().min(1),
  ruledOutBy: conditionSchema,
  /** When this holds, the hypothesis is reported as a contributing factor with `summary`. */
  contributesWhen: conditionSchema.optional(),
  summary: z.string().min(1).optional(),
  /** Evidence lines (default: the metrics that decided the outcome). */
  cite: z.array(citeSchema).optional(),
});
export type Hypothesis = z.infer<typeof hypothesisSchema>;

export const rootCauseSchema = z.strictObject({
  /** Which finding kinds may be the root cause, in order of precedence. */
  precedence: z.array(classKindSchema).min(1),
  /** Summary when only a symptom holds; `{summary}` is the symptom's own summary. */
  symptomOnlySummary: z.string().min(1),
  /** When no finding holds. `{notEvaluated}` lists what could not be evaluated. */
  fallback: z.strictObject({
    id: failureClassIdSchema,
    confidence: confidenceSchema,
    summary: z.string().min(1),
  }),
});

export const probeSchema = z.strictObject({
  /** Path of the probe script, relative to the runbooks folder. */
  script: z.string().regex(/^[A-Za-z0-9_./-]+\.sh$/),
  timeoutSeconds: z.number().int().min(5).max(600),
  /**
   * How long the probe's local health check waits for an answer (curl's `-m`), seconds; under
   * `timeoutSeconds`. A service whose health endpoint is slow by design needs more than the probe's own
   * default of 3 s, or a slow answer reads as a hung API. Absent: 3.
   */
  healthTimeoutSeconds: z.number().int().min(1).max(60).optional(),
  /** Sockets idle longer than this count as idle (`sockets.idleOverThreshold`). */
  idleThresholdMs: z.number().int().min(1000),
  histogramMode: z.enum(["live", "all"]),
  /**
   * The WebSocket session class of each server the runbook knows (Tomcat's `WsSession`, Jetty's
   * `WebSocketSession`, ...): the probe counts them in the class histogram and `jvm.wsSessions` sums them.
   * Absent: the probe counts none by name (older evidence is read as Tomcat's).
   */
  sessionClasses: z
    .array(
      z.strictObject({
        /** The server, for people: `Tomcat`, `Jetty`. */
        server: z.string().min(1).max(40),
        /** Fully qualified Java class name. */
        className: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_$.]{0,200}$/, "expected a fully qualified Java class name"),
      }),
    )
    .min(1)
    .max(20)
    .optional(),
});
export type ProbeSettings = z.infer<typeof probeSchema>;

/**
 * The health check's wait is under the probe's time budget (absent: the probe's 3 s, always under its 5 s
 * minimum). Checked where each is set: the runbook (references.ts) and the construct's probeTimeout.
 */
export const healthTimeoutFits = (
  p: Pick<ProbeSettings, "timeoutSeconds" | "healthTimeoutSeconds">,
): boolean => p.healthTimeoutSeconds === undefined || p.healthTimeoutSeconds < p.timeoutSeconds;

export const redactionRuleSchema = z
  .strictObject({
    name: idSchema,
    /** Kept before the marker: a portable regex (POSIX ERE and JavaScript agree), may be empty. */
    before: z.string().default(""),
    /** Replaced by `[REDACTED]`. */
    secret: z.string().min(1),
    /** Kept after the marker, may be empty. */
    after: z.string().default(""),
  })
  .superRefine((r, ctx) => {
    const issue = ruleIssue(r);
    if (issue) ctx.addIssue({ code: "custom", message: `redaction rule ${r.name}: ${issue}` });
  })
  .meta({
    id: "RedactionRule",
    description:
      "Extra secret pattern, added to the built-in ones: `before` + `secret` + `after` becomes `before[REDACTED]after`, case-insensitively, line by line, on the host and in the record",
  });

export const redactionSchema = z
  .strictObject({
    patterns: z.array(redactionRuleSchema).max(30),
  })
  .superRefine((r, ctx) => {
    let size: number;
    try {
      size = encodeForProbe([...DEFAULT_REDACTION_RULES, ...r.patterns]).length;
    } catch {
      return; // a rule's own issue is reported on the rule
    }
    if (size > PROBE_PATTERNS_MAX_CHARS) {
      ctx.addIssue({
        code: "custom",
        path: ["patterns"],
        message: `the patterns, with the built-in ones, encode to ${size} base64 characters; the probe's SSM parameter takes at most ${PROBE_PATTERNS_MAX_CHARS} (shorten or merge patterns)`,
      });
    }
  });

export const rungSchema = z.strictObject({
  /** An action id the registry knows (lambdas/core/mitigation/actions/registry.ts): checked by `checkReferences`. */
  action: actionIdSchema,
  params: z.record(z.string(), z.unknown()).default({}),
});
export type Rung = z.infer<typeof rungSchema>;

/** A ladder's key: a failure class id, or `<class>/<variant>`. */
export const ladderKeySchema = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]*(\/[a-z][a-z0-9-]*)?$/,
    "expected a kebab-case failure class id like `fd-exhaustion`, or `<class>/<variant>`",
  );

export const mitigationSchema = z.strictObject({
  defaults: z.strictObject({
    mode: modeSchema,
    /** No automatic action on the same target twice within this window. */
    cooldownSeconds: z.number().int().min(0),
  }),
  /**
   * One ladder per failure class id (a class of this runbook, or the fallback), the fallback's required;
   * `<class>/<variant>` is a ladder for one variant of a class, used instead of the class's when it held.
   */
  ladders: z.record(ladderKeySchema, z.array(rungSchema).min(1)),
});
export type MitigationSettings = z.infer<typeof mitigationSchema>;

/**
 * Verification after a change: up to `attempts` health checks `intervalSeconds` apart. Its time bound
 * follows from these (each check also has its own request time-out, lambdas/core/mitigation/health-check.ts).
 */
export const verifySchema = z.strictObject({
  attempts: z.number().int().min(1).max(100),
  intervalSeconds: z.number().int().min(1).max(300),
});
export type VerifySettings = z.infer<typeof verifySchema>;

export const runbookSchema = z
  .strictObject({
    $schema: z.string().optional(),
    apiVersion: z.literal(RUNBOOK_API_VERSION),
    id: idSchema,
    title: z.string().min(1),
    description: z.string().min(1),
    probe: probeSchema,
    /** Extra secret patterns (the built-in ones always apply: lambdas/core/redact). */
    redaction: redactionSchema.optional(),
    thresholds: z.record(thresholdNameSchema, z.number()),
    rootCause: rootCauseSchema,
    classes: z.array(failureClassSchema).min(1),
    hypotheses: z.array(hypothesisSchema),
    mitigation: mitigationSchema,
    verify: verifySchema,
  })
  .meta({ title: "runbook-autopilot runbook", description: "A declarative incident runbook" });

export type Runbook = z.infer<typeof runbookSchema>;
