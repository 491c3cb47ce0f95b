import { describe, expect, it } from "vitest";
import { type ApprovalRequest, selectRequest } from "../../../lambdas/core/approval/requests.js";

const req = (target: string, rung: number, at = "2026-11-25T03:00:00.000Z"): ApprovalRequest => ({
  target,
  rung,
  summary: `rung ${rung + 1}: x`,
  taskToken: `tok-${target}-${rung}`,
  requestedAt: at,
  expiresAt: "2026-11-25T04:00:00.000Z",
});

describe("selectRequest (which rung `runbook approve` answers)", () => {
  it("without --rung: the rung the target waits on (its latest request)", () => {
    const r = selectRequest("inc-1", [req("i-01", 0), req("i-01", 1)], {});
    expect(r).toMatchObject({ ok: true, request: { rung: 1, taskToken: "tok-i-01-1" } });
  });

  it("--rung is 1-based, as people see it", () => {
    expect(selectRequest("inc-1", [req("i-01", 0), req("i-01", 1)], { rung: 1 })).toMatchObject({
      ok: true,
      request: { rung: 0 },
    });
  });

  it("several targets waiting and none named: says which to name; naming one picks it", () => {
    const rs = [req("i-01", 0), req("i-02", 0)];
    const r = selectRequest("inc-1", rs, {});
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.message).toBe(
        "incident inc-1 waits on several targets: name one with --target (i-01 rung 1, i-02 rung 1)",
      );
    expect(selectRequest("inc-1", rs, { target: "i-02" })).toMatchObject({
      ok: true,
      request: { target: "i-02" },
    });
  });

  it("no request, an unknown target or rung: one clear message each", () => {
    expect(selectRequest("inc-1", [], {})).toEqual({
      ok: false,
      message: "incident inc-1 has no approval request",
    });
    expect(selectRequest("inc-1", [req("i-01", 0)], { target: "i-09" })).toMatchObject({
      ok: false,
      message: expect.stringMatching(/no approval request for target i-09 \(requests: i-01 rung 1\)/),
    });
    expect(selectRequest("inc-1", [req("i-01", 0)], { rung: 2 })).toMatchObject({
      ok: false,
      message: expect.stringMatching(/no approval request for rung 2/),
    });
  });
});
