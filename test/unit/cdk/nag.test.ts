import { AwsSolutionsChecks } from "cdk-nag";
import { describe, expect, it } from "vitest";
import { synthRunbook } from "./synth.js";

describe("cdk-nag AwsSolutions", () => {
  const tag = { key: "runbook-autopilot:runbook", value: "api-unreachable" };
  it.each([
    { name: "defaults", runbook: {} },
    { name: "alarm selection tag", runbook: { alarmSelectionTag: tag } },
    {
      name: "alarm selection tag + prefixes",
      runbook: { alarmSelectionTag: tag, alarmNamePrefixes: ["api-", "jvm-"] },
    },
  ])("has zero unacknowledged findings (errors and warnings): $name", ({ runbook }) => {
    const { app } = synthRunbook({ runbook });
    const report = new AwsSolutionsChecks(app).validateScope(app);
    const findings = report.violations.map(
      (v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(", ")}`,
    );
    expect(findings).toEqual([]);
  });
});
