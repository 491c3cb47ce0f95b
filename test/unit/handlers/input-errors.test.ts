import { describe, expect, it } from "vitest";
import * as z from "zod";
import { probeStateSchema, targetStepSchema } from "../../../lambdas/handlers/inputs.js";
import { parseInput } from "../../../lambdas/handlers/parse.js";

/** Lambda input validation errors name the field's path and what was expected, not a bare "Invalid input". */
const messageOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected the input to be rejected");
};

describe("parseInput errors", () => {
  it("name each field, what was expected and what was given", () => {
    const m = messageOf(() =>
      parseInput("Verify", targetStepSchema, { incidentId: "x", target: "i-zz", mode: 3 }),
    );
    expect(m).toBe(
      'Verify: invalid input: incidentId: expected a string matching /^inc-[A-Za-z0-9-]{1,120}$/, got "x"; ' +
        'target: expected a string matching /^i-[0-9a-f]{8,17}$/, got "i-zz"; ' +
        'mode: expected one of "plan", "approve", "auto", got 3',
    );
    expect(messageOf(() => parseInput("Verify", targetStepSchema, "nope"))).toBe(
      'Verify: invalid input: (the event): expected object, got "nope"',
    );
  });

  it("inside unions and nested objects: the closest alternative's field path, never a bare 'Invalid input'", () => {
    const schema = z.object({ incidentId: z.string(), probe: probeStateSchema });
    const m = messageOf(() =>
      parseInput("PollProbe", schema, {
        incidentId: "inc-1",
        probe: {
          done: false,
          command: { commandId: "c", instanceId: "i-0123456789abcdef0", step: "probe", sentAt: "now" },
          attempt: 0,
          waitSeconds: 5,
          status: "Pending",
        },
      }),
    );
    expect(m).toMatch(/^PollProbe: invalid input: probe\.command\.sentAt: expected datetime, got "now"$/);
    const union = z.object({
      target: z.union([z.object({ instanceId: z.string() }), z.object({ tag: z.string() })]),
    });
    expect(messageOf(() => parseInput("ResolveTargets", union, { target: { tag: 7 } }))).toMatch(
      /target\.(instanceId|tag): expected string, got (nothing|7)/,
    );
    expect(m).not.toMatch(/Invalid input/);
  });
});
