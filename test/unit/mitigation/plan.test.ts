import { describe, expect, it } from "vitest";
import { actionIds, actionModule } from "../../../lambdas/core/mitigation/actions/registry.js";
import type { ActionContext } from "../../../lambdas/core/mitigation/actions/types.js";
import { ActionParamsError } from "../../../lambdas/core/mitigation/errors.js";
import { formatPlan, ladderOf, planMitigation } from "../../../lambdas/core/mitigation/plan.js";
import { actionContext } from "../../support/action-context.js";

const ctx: ActionContext = actionContext();
const wsLadder = [
  { action: "kill-idle-connections" as const, params: { minIdleSeconds: 120 } },
  { action: "restart-service" as const },
  { action: "escalate" as const },
];

describe("planMitigation", () => {
  it("turns a ladder into data with defaults filled and exact descriptions", () => {
    const plan = planMitigation({
      classId: "websocket-session-leak",
      ladder: wsLadder,
      mode: "auto",
      context: ctx,
      hostHealthy: false,
      cooldownSeconds: 1800,
    });
    expect(plan.ladder.map((a) => a.action)).toEqual([
      "kill-idle-connections",
      "restart-service",
      "escalate",
    ]);
    expect(plan.ladder[0]?.params).toEqual({ minIdleSeconds: 120, maxConnections: 50_000, reliefBatch: 32 });
    expect(plan.ladder[0]?.description).toContain("port 18080");
    expect(plan.ladder[0]?.description).toContain("120s");
    expect(plan.ladder[0]?.destructive).toBe(true);
    expect(plan.ladder[2]?.destructive).toBe(false);
  });

  it("blocks restart-service when no restart method was given, and allows it with one", () => {
    const without = planMitigation({
      classId: "x",
      ladder: wsLadder,
      mode: "auto",
      context: ctx,
      hostHealthy: false,
      cooldownSeconds: 60,
    });
    expect(without.ladder[1]?.blockedReason).toMatch(/--service UNIT or --restart-command/);
    const withCmd = planMitigation({
      classId: "x",
      ladder: wsLadder,
      mode: "auto",
      context: { ...ctx, restart: { service: null, command: "start-app" } },
      hostHealthy: false,
      cooldownSeconds: 60,
    });
    expect(withCmd.ladder[1]?.blockedReason).toBeNull();
    expect(withCmd.ladder[1]?.description).toContain("PID 4242");
    const withUnit = planMitigation({
      classId: "x",
      ladder: wsLadder,
      mode: "auto",
      context: { ...ctx, restart: { service: "api.service", command: null } },
      hostHealthy: false,
      cooldownSeconds: 60,
    });
    expect(withUnit.ladder[1]?.description).toContain("systemctl restart api.service");
  });

  it("never plans a change on a healthy host, whatever the class's ladder", () => {
    const plan = planMitigation({
      classId: "websocket-session-leak",
      ladder: wsLadder,
      mode: "auto",
      context: ctx,
      hostHealthy: true,
      cooldownSeconds: 60,
    });
    expect(plan.ladder).toHaveLength(1);
    expect(plan.ladder[0]?.action).toBe("notify-only");
    expect(plan.ladder[0]?.destructive).toBe(false);
  });

  it("rejects bad params with the rung and the field named", () => {
    const bad = () =>
      planMitigation({
        classId: "x",
        ladder: [{ action: "kill-idle-connections", params: { minIdleSeconds: 0 } }],
        mode: "auto",
        context: ctx,
        hostHealthy: false,
        cooldownSeconds: 60,
      });
    expect(bad).toThrow(ActionParamsError);
    expect(bad).toThrow(/rung 0 \(kill-idle-connections\): minIdleSeconds/);
    const unknownParam = () =>
      planMitigation({
        classId: "x",
        ladder: [{ action: "escalate", params: { nope: 1 } }],
        mode: "auto",
        context: ctx,
        hostHealthy: false,
        cooldownSeconds: 60,
      });
    expect(unknownParam).toThrow(/nope/);
  });

  it("states the mode in the guardrails and prints a readable plan", () => {
    const plan = planMitigation({
      classId: "websocket-session-leak",
      ladder: wsLadder,
      mode: "plan",
      context: ctx,
      hostHealthy: false,
      cooldownSeconds: 1800,
    });
    expect(plan.guardrails.join("\n")).toMatch(/Mode plan: nothing is changed/);
    const text = formatPlan(plan);
    expect(text).toContain("1. kill-idle-connections [changes host]");
    expect(text).toContain("2. restart-service [blocked]");
    expect(text).toContain("3. escalate [no change]");
  });

  it("registers the built-in actions, each destructive one with a host command and the others without", () => {
    expect(actionIds().sort()).toEqual([
      "delete-rotated-logs",
      "escalate",
      "heap-dump",
      "kill-idle-connections",
      "notify-only",
      "restart-service",
    ]);
    for (const id of actionIds())
      expect(actionModule(id).destructive).toBe(actionModule(id).command !== null);
  });
});

describe("ladderOf: a variant's ladder, else the class's, else escalate", () => {
  const ladders = {
    "connection-pool-exhaustion": [{ action: "notify-only" }],
    "connection-pool-exhaustion/leaked-connections": [{ action: "restart-service" }, { action: "escalate" }],
  };
  const held = (variant: string) => ({ findings: [{ id: "connection-pool-exhaustion", variant }] });

  it("uses the ladder of the variant that held, and records which", () => {
    expect(ladderOf(ladders, "connection-pool-exhaustion", held("leaked-connections"))).toEqual({
      ladder: [{ action: "restart-service" }, { action: "escalate" }],
      inputs: { ladder: "connection-pool-exhaustion/leaked-connections" },
    });
  });

  it("falls back to the class's ladder for a variant without one, and to escalate for an unknown class", () => {
    expect(ladderOf(ladders, "connection-pool-exhaustion", held("slow-database"))).toEqual({
      ladder: [{ action: "notify-only" }],
      inputs: {},
    });
    expect(ladderOf(ladders, "connection-pool-exhaustion", null).ladder).toEqual([{ action: "notify-only" }]);
    expect(ladderOf(ladders, "disk-full", held("x"))).toEqual({
      ladder: [{ action: "escalate" }],
      inputs: {},
    });
  });
});
