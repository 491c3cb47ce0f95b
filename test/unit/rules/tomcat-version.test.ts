import { describe, expect, it } from "vitest";
import {
  compareTomcatVersions,
  parseTomcatVersion,
  predates64848Fix,
} from "../../../lambdas/core/rules/tomcat-version.js";

describe("predates64848Fix (Bugzilla 64848: fixed in 8.5.60, 9.0.40, 10.0.0-M10)", () => {
  it.each([
    ["8.5.59", true],
    ["8.5.60", false],
    ["8.5.100", false],
    ["9.0.39", true],
    ["9.0.40", false],
    ["9.0.0.M26", true],
    ["9.0.98", false],
    ["10.0.0-M9", true],
    ["10.0.0-M10", false],
    ["10.0.0", false],
    ["10.0.27", false],
    ["10.1.0-M1", false],
    ["10.1.60", false],
    ["11.0.2", false],
    ["8.0.53", true],
    ["Apache Tomcat/9.0.36", true],
    ["Apache Tomcat/10.1.60 (Debian)", false],
    ["7.0.109", null],
    ["unknown", null],
    ["", null],
  ])("%s → %s", (version, expected) => {
    expect(predates64848Fix(version)).toBe(expected);
  });

  it("orders milestones before release candidates before the final release", () => {
    const v = (s: string) => {
      const p = parseTomcatVersion(s);
      if (!p) throw new Error(s);
      return p;
    };
    expect(compareTomcatVersions(v("10.0.0-M10"), v("10.0.0-RC1"))).toBe(-1);
    expect(compareTomcatVersions(v("10.0.0-RC1"), v("10.0.0"))).toBe(-1);
    expect(compareTomcatVersions(v("9.0.40"), v("9.0.40"))).toBe(0);
    expect(compareTomcatVersions(v("9.0.100"), v("9.0.40"))).toBe(1);
  });
});
