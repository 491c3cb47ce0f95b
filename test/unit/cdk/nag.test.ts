import { AwsSolutionsChecks } from "cdk-nag";
import { describe, expect, it } from "vitest";
import { synthRunbook } from "./synth.js";

describe("cdk-nag AwsSolutions", () => {
  it("has zero unacknowledged findings (errors and warnings)", () => {
    const { app } = synthRunbook();
    const report = new AwsSolutionsChecks(app).validateScope(app);
    const findings = report.violations.map(
      (v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(", ")}`,
    );
    expect(findings).toEqual([]);
  });
});
