/**
 * Secret redaction: the one source of the patterns, applied on the host by the probe (as `sed -E`
 * substitutions, from `encodeForProbe`) and again in TypeScript to everything written (`redactText`,
 * `redactDeep`). Each match of `before` + `secret` + `after` becomes `before` + `[REDACTED]` + `after`.
 *
 * The dialect is the subset on which POSIX extended regexes (GNU sed) and JavaScript agree, matched
 * line by line and case-insensitively (`portableRegexIssue` rejects the rest): literal characters,
 * `.`, bracket expressions without backslashes or `[:class:]`, groups, `|`, `*`, `+`, `?`, `{n,m}`,
 * `^`, `$`, and backslash only before a punctuation character. Write patterns whose match ends in a
 * character-class run and whose alternatives are not prefixes of each other, so POSIX's
 * leftmost-longest and JavaScript's leftmost-first pick the same text (test/unit/redact checks the
 * defaults in both engines).
 */
export const REDACTED = "[REDACTED]";

export interface RedactionRule {
  readonly name: string;
  /** Kept before the marker (may be empty). */
  readonly before: string;
  /** Replaced by the marker. */
  readonly secret: string;
  /** Kept after the marker (may be empty). */
  readonly after: string;
}

const NAME = "[A-Za-z0-9._-]*";
const SECRET_WORD = "(password|passwd|secret|token|credential|apikey|api_key|api-key|accesskey|access_key)";

export const DEFAULT_REDACTION_RULES: readonly RedactionRule[] = [
  {
    name: "jvm-property",
    before: `-D${NAME}(password|passwd|pwd|secret|token|credential|key)${NAME}=`,
    secret: `[^ "']+`,
    after: "",
  },
  { name: "assignment", before: `${NAME}${SECRET_WORD}${NAME} *= *`, secret: `[^ "'&;,]+`, after: "" },
  { name: "json-field", before: `"${NAME}${SECRET_WORD}${NAME}" *: *"`, secret: `[^"]+`, after: "" },
  {
    name: "aws-secret-beside-key-id",
    before: `(AKIA|ASIA)[A-Z0-9]{16}[ :=,;"']+`,
    secret: "[A-Za-z0-9/+]{40}",
    after: "",
  },
  { name: "aws-access-key-id", before: "", secret: "(AKIA|ASIA)[A-Z0-9]{16}", after: "" },
  {
    name: "authorization-header",
    before: `(proxy-)?authorization"? *[:=] *"?((bearer|basic|digest|negotiate|token|aws4-hmac-sha256) +)?`,
    secret: `[^"]+`,
    after: "",
  },
  { name: "url-userinfo", before: `[a-z][a-z0-9+.-]*://[^/ :@"']+:`, secret: `[^/ @"']+`, after: "@" },
  { name: "jdbc-oracle-password", before: `jdbc:oracle:[a-z]+:[^/ @"':]+/`, secret: `[^ @"']+`, after: "@" },
];

/** Capturing groups in a portable regex: unescaped `(` outside bracket expressions. */
function groupCount(src: string): number {
  let n = 0;
  let inBracket = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (inBracket) {
      if (c === "]" && src[i - 1] !== "[" && !(src[i - 1] === "^" && src[i - 2] === "[")) inBracket = false;
    } else if (c === "\\") i++;
    else if (c === "[") inBracket = true;
    else if (c === "(") n++;
  }
  return n;
}

/** Why `src` is outside the portable dialect, or null. */
export function portableRegexIssue(src: string): string | null {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is rejected
  if (/[\u0000-\u001f\u007f]/.test(src)) return "control characters are not allowed";
  if (src.includes("(?")) return "`(?` groups (lookaround, non-capturing, flags) are JavaScript-only";
  if (/[*+?}]\?/.test(src)) return "lazy quantifiers (`*?`, `+?`, `??`) are JavaScript-only";
  let inBracket = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (inBracket) {
      if (c === "\\") return "a backslash inside [...] means different things in sed and JavaScript";
      if (c === "[" && /[:=.]/.test(src[i + 1] ?? "")) return "`[:class:]` forms inside [...] are POSIX-only";
      if (c === "]" && src[i - 1] !== "[" && !(src[i - 1] === "^" && src[i - 2] === "[")) inBracket = false;
    } else if (c === "\\") {
      const next = src[i + 1] ?? "";
      if (!/[.[\](){}*+?^$|\\/-]/.test(next))
        return `\`\\${next}\` is not portable: escape only punctuation (write [0-9], not \\d)`;
      i++;
    } else if (c === "[") inBracket = true;
  }
  if (inBracket) return "unterminated [";
  try {
    new RegExp(src, "i");
  } catch (e) {
    return `not a valid regex: ${(e as Error).message}`;
  }
  return null;
}

interface Compiled {
  readonly re: RegExp;
  /** 1-based index of the `after` group, 0 when none. */
  readonly afterGroup: number;
}

function sourceOf(rule: RedactionRule): { source: string; afterGroup: number } {
  const afterGroup = rule.after === "" ? 0 : 2 + groupCount(rule.before) + groupCount(rule.secret);
  return {
    source: `(${rule.before})${rule.secret}${rule.after === "" ? "" : `(${rule.after})`}`,
    afterGroup,
  };
}

/** Why a rule cannot be used, or null. */
export function ruleIssue(rule: RedactionRule): string | null {
  for (const part of ["before", "secret", "after"] as const) {
    if (part === "secret" && rule.secret === "") return "secret must not be empty";
    const issue = rule[part] === "" ? null : portableRegexIssue(rule[part]);
    if (issue) return `${part}: ${issue}`;
  }
  const { source, afterGroup } = sourceOf(rule);
  if (afterGroup > 9) return "too many groups: the after part must be group 9 or lower";
  if (new RegExp(source, "i").test("")) return "matches the empty string";
  return null;
}

export class Redactor {
  private readonly compiled: readonly Compiled[];
  constructor(readonly rules: readonly RedactionRule[]) {
    this.compiled = rules.map((r) => {
      const issue = ruleIssue(r);
      if (issue) throw new Error(`redaction rule ${r.name}: ${issue}`);
      const { source, afterGroup } = sourceOf(r);
      return { re: new RegExp(source, "gi"), afterGroup };
    });
  }

  /** The text with every match replaced, line by line, and how many markers were added. */
  text(input: string): { text: string; count: number } {
    if (input === "") return { text: input, count: 0 };
    const out = input
      .split("\n")
      .map((line) => {
        let l = line;
        for (const c of this.compiled)
          l = l.replace(c.re, (...m: unknown[]) => {
            const groups = m.slice(1, -2) as (string | undefined)[];
            return `${groups[0] ?? ""}${REDACTED}${c.afterGroup ? (groups[c.afterGroup - 1] ?? "") : ""}`;
          });
        return l;
      })
      .join("\n");
    return { text: out, count: Math.max(0, markers(out) - markers(input)) };
  }

  /** A deep copy with every string (not keys) redacted, and the markers added. */
  deep<T>(value: T): { value: T; count: number } {
    let count = 0;
    const walk = (v: unknown): unknown => {
      if (typeof v === "string") {
        const r = this.text(v);
        count += r.count;
        return r.text;
      }
      if (Array.isArray(v)) return v.map(walk);
      if (v !== null && typeof v === "object") {
        const o: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v)) o[k] = walk(x);
        return o;
      }
      return v;
    };
    const value2 = walk(value) as T;
    return { value: value2, count };
  }
}

function markers(s: string): number {
  let n = 0;
  for (let i = s.indexOf(REDACTED); i !== -1; i = s.indexOf(REDACTED, i + REDACTED.length)) n++;
  return n;
}

/** The probe's `SSM_redactPatterns`: base64 of lines `<after group>\t<regex>` (see the probe). */
/**
 * The most base64 characters of patterns the probe's SSM parameter takes: SSM counts a document's content
 * and its runtime parameters against one 64 KB quota, and the probe document needs the rest.
 */
export const PROBE_PATTERNS_MAX_CHARS = 8000;

export function encodeForProbe(rules: readonly RedactionRule[]): string {
  const lines = rules.map((r) => {
    const issue = ruleIssue(r);
    if (issue) throw new Error(`redaction rule ${r.name}: ${issue}`);
    const { source, afterGroup } = sourceOf(r);
    return `${afterGroup}\t${source}`;
  });
  return base64(`${lines.join("\n")}\n`);
}

/** Base64 of ASCII text without Buffer (the core is pure and runtime-neutral). */
function base64(text: string): string {
  const abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const bytes = new TextEncoder().encode(text);
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const [a = 0, b = 0, c = 0] = [bytes[i], bytes[i + 1], bytes[i + 2]];
    const n = (a << 16) | (b << 8) | c;
    out += abc.charAt((n >> 18) & 63) + abc.charAt((n >> 12) & 63);
    out += i + 1 < bytes.length ? abc.charAt((n >> 6) & 63) : "=";
    out += i + 2 < bytes.length ? abc.charAt(n & 63) : "=";
  }
  return out;
}

/** The default rules followed by a runbook's own. */
export function redactionRules(extra: readonly RedactionRule[] = []): readonly RedactionRule[] {
  return [...DEFAULT_REDACTION_RULES, ...extra];
}
