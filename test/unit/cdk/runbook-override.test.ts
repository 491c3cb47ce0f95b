import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, Duration } from "aws-cdk-lib";
import { afterAll, describe, expect, it } from "vitest";
import { loadRunbookDoc } from "../../../lambdas/workflows/runbook-files.js";
import { bundleLambda, LAMBDA_BUNDLE_FILE } from "../../../lib/lambda-bundle.js";
import { handlerEntry, RUNBOOKS_DIR } from "../../../lib/paths.js";
import { resolveConstructRunbook } from "../../../lib/runbook-override.js";
import { RunbookStack } from "../../../lib/runbook-stack.js";
import { synthRunbook } from "./synth.js";

type Fn = { Type: string; Properties: { Environment?: { Variables?: Record<string, unknown> } } };
const envOf = (props: Parameters<typeof synthRunbook>[0]) => {
  const resources = synthRunbook(props).template.toJSON().Resources as Record<string, Fn>;
  const fns = Object.values(resources).filter((r) => r.Type === "AWS::Lambda::Function");
  const vars = fns.map((f) => f.Properties.Environment?.Variables ?? {}).filter((v) => "DEFAULT_MODE" in v);
  expect(vars.length).toBeGreaterThan(0);
  return vars[0] as Record<string, unknown>;
};

describe("ApiUnreachableRunbook prop `runbook` (override)", () => {
  const dir = mkdtempSync(join(tmpdir(), "runbook-cdk-override-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("a bad override fails the synth with the field path and what was expected", () => {
    expect(
      () =>
        new RunbookStack(new App(), "Bad", {
          runbook: { runbook: { thresholds: { fdUsedRatio: "high" as unknown as number } } },
        }),
    ).toThrow(/props\.runbook at thresholds\.fdUsedRatio: expected number, got "high"/);
    const file = join(dir, "bad.yaml");
    writeFileSync(file, "verify:\n  attempts: 0\n");
    expect(() => new RunbookStack(new App(), "BadFile", { runbook: { runbook: file } })).toThrow(
      /bad\.yaml:2:13 at verify\.attempts: .*>=1/,
    );
  });

  // Each synth takes seconds on a loaded 2-core machine: one per test, with room.
  const mitigation = { defaults: { mode: "auto" as const, cooldownSeconds: 600 } };
  it("the override's mode and cooldown apply when the construct's own props do not say", () => {
    expect(envOf({ runbook: { runbook: { mitigation } } })).toMatchObject({
      DEFAULT_MODE: "auto",
      COOLDOWN_SECONDS: "600",
    });
  }, 120_000);

  it("the construct's defaultMode and cooldown win over the override's", () => {
    expect(
      envOf({ runbook: { runbook: { mitigation }, defaultMode: "plan", cooldown: Duration.minutes(5) } }),
    ).toMatchObject({ DEFAULT_MODE: "plan", COOLDOWN_SECONDS: "300" });
  }, 120_000);

  it("an override that says nothing of modes keeps the runbook's defaults (their one home)", () => {
    expect(envOf({ runbook: { runbook: { thresholds: { fdUsedRatio: 0.8 } } } })).toMatchObject({
      DEFAULT_MODE: "plan",
      COOLDOWN_SECONDS: "1800",
      PROBE_TIMEOUT_SECONDS: "30",
    });
  }, 120_000);

  it("the Lambda bundle carries the resolved runbook, which the Lambda's loader reads back", async () => {
    const file = join(dir, "mine.yaml");
    writeFileSync(
      file,
      "extends: api-unreachable\nthresholds:\n  httpKeepAliveMs: 20000\nverify:\n  attempts: 7\n",
    );
    const resolved = resolveConstructRunbook("api-unreachable", RUNBOOKS_DIR, file);
    const out = join(dir, "bundle");
    bundleLambda(out, {
      entry: handlerEntry("diagnose"),
      runbooksDir: RUNBOOKS_DIR,
      runbookFiles: resolved.files,
    });
    const shipped = readFileSync(join(out, "runbooks/api-unreachable.yaml"), "utf8");
    expect(shipped).toMatch(/^# api-unreachable, resolved at synth time/);
    const doc = await loadRunbookDoc("api-unreachable", join(out, "runbooks"));
    expect(doc).toEqual(resolved.doc);
    expect(doc.thresholds.httpKeepAliveMs).toBe(20000);
    expect(doc.verify.attempts).toBe(7);
    expect(readFileSync(join(out, "runbooks/probes/api-unreachable.sh"), "utf8")).toBe(
      readFileSync(join(RUNBOOKS_DIR, "probes/api-unreachable.sh"), "utf8"),
    );
    expect(readFileSync(join(out, LAMBDA_BUNDLE_FILE), "utf8").length).toBeGreaterThan(10_000);
  }, 120_000);
});
