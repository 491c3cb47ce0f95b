import { beforeAll, describe, expect, it } from "vitest";
import type { Runbook } from "../../../lambdas/core/runbook/schema.js";
import { resolveRunSettings, settingsFromEnv } from "../../../lambdas/core/settings/run-settings.js";
import { loadRunbookDoc, runbookView } from "../../../lambdas/workflows/runbook-files.js";

let doc: Runbook;
beforeAll(async () => {
  doc = await loadRunbookDoc("api-unreachable");
});

describe("resolveRunSettings: the runbook, then the construct (environment), then the CLI", () => {
  it("takes every default from the runbook", () => {
    expect(resolveRunSettings(doc)).toEqual({
      mode: "plan",
      cooldownSeconds: 1800,
      probe: {
        script: "probes/api-unreachable.sh",
        timeoutSeconds: 30,
        healthTimeoutSeconds: 3,
        idleThresholdMs: 120_000,
        histogramMode: "live",
        sessionClasses: [
          { server: "Tomcat", className: "org.apache.tomcat.websocket.WsSession" },
          { server: "Jetty", className: "org.eclipse.jetty.websocket.common.WebSocketSession" },
        ],
      },
      verify: { attempts: 15, intervalSeconds: 2 },
    });
  });

  it("later layers win, and a layer changes only what it says", () => {
    const env = settingsFromEnv({
      DEFAULT_MODE: "approve",
      COOLDOWN_SECONDS: "600",
      PROBE_TIMEOUT_SECONDS: "",
    });
    const s = resolveRunSettings(doc, env, { mode: "auto", idleThresholdSeconds: 45 });
    expect(s.mode).toBe("auto");
    expect(s.cooldownSeconds).toBe(600);
    expect(s.probe).toMatchObject({ timeoutSeconds: 30, idleThresholdMs: 45_000, histogramMode: "live" });
  });

  it("the cooldown the workflows lock with is the resolved one, on AWS as locally", () => {
    const view = runbookView(doc, resolveRunSettings(doc, settingsFromEnv({ COOLDOWN_SECONDS: "300" })));
    expect(view.cooldownSeconds).toBe(300);
    expect(runbookView(doc).cooldownSeconds).toBe(1800);
  });

  it("refuses a malformed environment value with the variable's name", () => {
    expect(() => settingsFromEnv({ DEFAULT_MODE: "yolo" })).toThrow(/DEFAULT_MODE/);
  });
});
