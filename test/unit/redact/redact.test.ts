import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_REDACTION_RULES,
  encodeForProbe,
  portableRegexIssue,
  REDACTED,
  Redactor,
  ruleIssue,
} from "../../../lambdas/core/redact/index.js";
import { parseRunbook } from "../../../lambdas/core/runbook/load.js";
import { runbookView } from "../../../lambdas/workflows/runbook-files.js";
import { probeParameters } from "../../../lambdas/workflows/steps.js";
import { REPO } from "../../support/cli.js";
import { CORPUS, SECRETS } from "./corpus.js";

const redactor = new Redactor(DEFAULT_REDACTION_RULES);

describe("default redaction rules", () => {
  it("leave none of the planted secrets and a marker per secret line", () => {
    const { text, count } = redactor.text(CORPUS.join("\n"));
    for (const s of SECRETS) expect(text, s).not.toContain(s);
    const lines = text.split("\n");
    expect(lines).toHaveLength(CORPUS.length);
    for (const [i, line] of lines.slice(0, -1).entries()) expect(line, CORPUS[i]).toContain(REDACTED);
    expect(lines.at(-1)).toBe(CORPUS.at(-1));
    expect(count).toBeGreaterThanOrEqual(CORPUS.length - 1);
  });

  it("keep what is around the secret", () => {
    const r = (s: string) => redactor.text(s).text;
    expect(r("java -Dspring.datasource.password=hunter2 -Dserver.port=8080")).toBe(
      "java -Dspring.datasource.password=[REDACTED] -Dserver.port=8080",
    );
    expect(r("https://admin:pw@db.internal:5432/app")).toBe("https://admin:[REDACTED]@db.internal:5432/app");
    expect(r("x ?user=app&password=pw&ssl=true")).toBe("x ?user=app&password=[REDACTED]&ssl=true");
    expect(r("Authorization: Bearer abc")).toBe("Authorization: Bearer [REDACTED]");
  });

  it("count markers added, not markers already there, and are idempotent", () => {
    const once = redactor.text("[REDACTED] -Dx.password=a");
    expect(once.count).toBe(1);
    expect(redactor.text(once.text)).toEqual({ text: once.text, count: 0 });
  });

  it("redact string values deep in a record, not its keys", () => {
    const r = redactor.deep({ tokenCount: 3, cmd: ["-Dapp.token=t0k"], n: { s: "AKIAIOSFODNN7EXAMPLE" } });
    expect(r.value).toEqual({ tokenCount: 3, cmd: ["-Dapp.token=[REDACTED]"], n: { s: "[REDACTED]" } });
    expect(r.count).toBe(2);
  });

  it("encode for the probe as base64 lines '<after group>\\t<regex>'", () => {
    const lines = Buffer.from(encodeForProbe(DEFAULT_REDACTION_RULES), "base64")
      .toString("utf8")
      .trim()
      .split("\n");
    expect(lines).toHaveLength(DEFAULT_REDACTION_RULES.length);
    for (const l of lines) expect(l).toMatch(/^[0-9]\t\(/);
    // url-userinfo keeps its `@`: group 2, after `(before)` (no groups of its own) and the secret.
    expect(lines[DEFAULT_REDACTION_RULES.findIndex((r) => r.name === "url-userinfo")]).toMatch(/^2\t/);
    // aws-secret-beside-key-id has no after part: 0.
    expect(lines[DEFAULT_REDACTION_RULES.findIndex((r) => r.name === "aws-secret-beside-key-id")]).toMatch(
      /^0\t/,
    );
  });
});

describe("portable dialect", () => {
  it.each([
    ["\\d+", /not portable/],
    ["a(?=b)", /JavaScript-only/],
    ["a+?", /lazy/],
    ["[[:alpha:]]+", /POSIX-only/],
    ["[\\s]", /backslash inside/],
    ["(", /not a valid regex/],
  ])("rejects %s", (src, why) => {
    expect(portableRegexIssue(src)).toMatch(why);
  });
  it("accepts the defaults and escaped punctuation", () => {
    for (const r of DEFAULT_REDACTION_RULES) expect(ruleIssue(r), r.name).toBeNull();
    expect(portableRegexIssue("a\\.b[/+-]{2,3}")).toBeNull();
  });
  it("rejects a rule whose secret matches the empty string", () => {
    expect(ruleIssue({ name: "x", before: "", secret: "[0-9]*", after: "" })).toMatch(/empty string/);
  });
});

describe("runbook redaction section", () => {
  const base = `
apiVersion: runbook-autopilot/v1
id: r
title: t
description: d
probe: { script: probes/api-unreachable.sh, timeoutSeconds: 30, idleThresholdMs: 120000, histogramMode: live }
thresholds: {}
rootCause:
  fallback: { id: unknown, confidence: 0.2, summary: s }
classes:
  - id: unknown
    title: Unknown
    kind: cause
    variants: []
hypotheses: []
mitigation:
  defaults: { mode: plan, cooldownSeconds: 60 }
  ladders: { unknown: [{ action: escalate }] }
verify: { attempts: 1, intervalSeconds: 1 }
`;
  it("rejects a pattern outside the portable dialect, naming the rule", () => {
    const r = parseRunbook(
      `${base}redaction:\n  patterns:\n    - { name: pin, before: "pin=", secret: "\\\\d+" }\n`,
      "r.yaml",
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.message).toMatch(/redaction rule pin: secret: .*not portable/);
  });
  it("adds the runbook's own patterns to the built-in ones, in TypeScript and in the probe's parameter", () => {
    const text = readFileSync(join(REPO, "runbooks/api-unreachable.yaml"), "utf8");
    const extra = `\nredaction:\n  patterns:\n    - { name: pin, before: "pin=", secret: "[0-9]+" }\n`;
    const r = parseRunbook(text + extra, "api-unreachable.yaml");
    if (!r.ok) throw r.error;
    const view = runbookView(r.value);
    expect(view.redactor.text("card pin=1234 -Dx.password=p").text).toBe(
      "card pin=[REDACTED] -Dx.password=[REDACTED]",
    );
    const params = probeParameters(
      { runbook: view, rawBase: "/var/tmp/runbook-autopilot" },
      { target: "local", port: 8080, pid: null, healthPath: "/health", logPath: null, restart: null },
      "/var/tmp/runbook-autopilot/inc/before",
    );
    const lines = Buffer.from(params.redactPatterns ?? "", "base64")
      .toString("utf8")
      .trim()
      .split("\n");
    expect(lines).toHaveLength(DEFAULT_REDACTION_RULES.length + 1);
    expect(lines.at(-1)).toBe("0\t(pin=)[0-9]+");
    expect(params.rawBase).toBe("/var/tmp/runbook-autopilot");
  });
});
