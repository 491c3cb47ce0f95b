import { describe, expect, it } from "vitest";
import { actionModule } from "../../../lambdas/core/mitigation/actions/registry.js";
import type { ActionContext } from "../../../lambdas/core/mitigation/actions/types.js";
import { actionContext } from "../../support/action-context.js";

const ctx: ActionContext = actionContext({ histogramMissing: true });
const kill = actionModule("kill-idle-connections");
const limits = (c: ActionContext, params: Record<string, unknown> = {}) => {
  const r = kill.runs(kill.params.parse(params), c);
  if (!r.ok) throw new Error(r.reason);
  return r.runs.map((run) => ({ part: run.part, limit: run.parameters.limit, relief: run.relief === true }));
};

describe("kill-idle-connections: the relief batch", () => {
  it("with the histogram missing: a relief batch of reliefBatch first, then all the rest", () => {
    expect(limits(ctx)).toEqual([
      { part: "relief", limit: "32", relief: true },
      { part: "main", limit: "", relief: false },
    ]);
  });

  it("one more for each connection the evidence saw waiting in the accept queue (the acceptor takes those first)", () => {
    expect(limits({ ...ctx, acceptQueued: 38 })[0]).toEqual({ part: "relief", limit: "70", relief: true });
    expect(limits({ ...ctx, acceptQueued: 0 })[0]?.limit).toBe("32");
    expect(limits({ ...ctx, acceptQueued: null })[0]?.limit).toBe("32");
    expect(limits({ ...ctx, acceptQueued: 100 }, { reliefBatch: 8 })[0]?.limit).toBe("108");
  });

  it("no relief batch when the histogram was taken, or reliefBatch is 0, whatever the queue", () => {
    expect(limits({ ...ctx, histogramMissing: false, acceptQueued: 38 })).toEqual([
      { part: "main", limit: "", relief: false },
    ]);
    expect(limits({ ...ctx, acceptQueued: 38 }, { reliefBatch: 0 })).toHaveLength(1);
  });

  it("the relief limit stays within the SSM document's pattern for `limit`", () => {
    const pattern = new RegExp(kill.command?.parameters.limit?.allowedPattern ?? "^$");
    const limit = limits({ ...ctx, acceptQueued: 50_000_000 }, { reliefBatch: 10_000 })[0]?.limit ?? "";
    expect(limit).toBe("9999999");
    expect(pattern.test(limit)).toBe(true);
  });
});
