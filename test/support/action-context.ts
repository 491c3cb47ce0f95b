import type { ActionContext } from "../../lambdas/core/mitigation/actions/types.js";

/** An action context on port 18080 for PID 4242 (start time 99), with the given fields replaced. */
export function actionContext(overrides: Partial<ActionContext> = {}): ActionContext {
  return {
    port: 18080,
    healthPath: "/health",
    pid: 4242,
    restart: null,
    process: { ok: true, pid: 4242, startTicks: 99 },
    histogramMissing: false,
    ...overrides,
  };
}
