import { afterEach, describe, expect, it, vi } from "vitest";
import { lambdaEnv } from "../../support/local-pipeline.js";

/**
 * The handlers' environment (lambdas/handlers/wiring.ts `env()`): what the construct sets, checked once
 * per container. A missing or malformed variable is one line naming each variable and what it should
 * be, never a ZodError dump or a JSON SyntaxError thrown out of the parse.
 */
const valid = lambdaEnv(
  { AWS_REGION: "eu-west-1" },
  {
    Probe: "probe-doc",
    KillIdleConnections: "kill-doc",
    RestartService: "restart-doc",
    CheckHealth: "health-doc",
  },
);

/** `env()` of a fresh wiring module (it caches the parse per container) with this environment. */
async function envWith(vars: Record<string, string | undefined>) {
  vi.resetModules();
  for (const [k, v] of Object.entries({ ...valid, ...vars })) vi.stubEnv(k, v);
  const { env } = await import("../../../lambdas/handlers/wiring.js");
  return env;
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("the handlers' environment", () => {
  it("parses what the construct sets, JSON variables included", async () => {
    const e = (await envWith({ ALARM_SELECTION_TAG: "", FLEET_TARGET_GROUPS: "" }))();
    expect(e.ARTIFACT_BUCKET).toBe("runbook-artifacts");
    expect(e.OPT_IN_TAG).toEqual({ key: "runbook-autopilot:enabled", value: "true" });
    expect(e.SSM_DOCUMENTS.probe).toEqual({ documentName: "probe-doc", step: "probe" });
    expect(e.SERVICE.port).toBe(1);
    expect(e.ALARM_SELECTION_TAG).toBeNull();
    expect(e.FLEET_TARGET_GROUPS).toEqual([]);
  });

  it("names each bad variable on one line: missing, not JSON, JSON of the wrong shape", async () => {
    const env = await envWith({
      ARTIFACT_BUCKET: undefined,
      SSM_DOCUMENTS: "{not json",
      OPT_IN_TAG: '{"key":""}',
      SERVICE: '{"port":"80","healthPath":"/h","logPath":null,"systemdUnit":null}',
      ALARM_NAMES: '"one"',
    });
    let message = "";
    try {
      env();
    } catch (e) {
      expect((e as Error).name).toBe("InvalidEnvironmentError");
      message = (e as Error).message;
    }
    expect(message).not.toContain("\n");
    expect(message).toMatch(/^the function's environment \(set by the construct\): /);
    expect(message).toContain("ARTIFACT_BUCKET: expected string, got nothing");
    expect(message).toMatch(/SSM_DOCUMENTS: expected JSON \([^)]+\), got "\{not json"/);
    expect(message).toMatch(
      /OPT_IN_TAG: in its JSON, key: [^;]*, got ""; value: expected string, got nothing/,
    );
    expect(message).toContain('SERVICE: in its JSON, port: expected number, got "80"');
    expect(message).toContain('ALARM_NAMES: in its JSON, (the value): expected array, got "one"');
  });
});

describe("the run settings the construct layers over the runbook", () => {
  it("a bad DEFAULT_MODE stops the workflow Lambdas at load with the same one line, not a ZodError", async () => {
    vi.resetModules();
    for (const [k, v] of Object.entries({ ...valid, DEFAULT_MODE: "yolo", COOLDOWN_SECONDS: "-1" }))
      vi.stubEnv(k, v);
    const loaded = import("../../../lambdas/handlers/workflow-wiring.js");
    await expect(loaded).rejects.toThrow(
      /^the function's environment \(set by the construct\): DEFAULT_MODE: expected one of "plan", "approve", "auto", got "yolo"; COOLDOWN_SECONDS: [^;]*, got "-1"$/,
    );
  });
});
