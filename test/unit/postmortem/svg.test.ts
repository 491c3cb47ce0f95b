import { describe, expect, it } from "vitest";
import { sanitiseMermaidLabel } from "../../../lambdas/core/postmortem/mermaid.js";
import { connectionStatesSvg, escapeXml, fdUsageSvg } from "../../../lambdas/core/postmortem/svg.js";

const widthOf = (svg: string, role: string, nth = 0): number => {
  const m = [...svg.matchAll(new RegExp(`data-role="${role}"[^>]*?width="([\\d.]+)"`, "g"))][nth];
  return Number(m?.[1]);
};

describe("svg charts", () => {
  it("draws fd usage proportional to the limit", () => {
    const svg = fdUsageSvg([
      { label: "before", open: 1024, limit: 1024 },
      { label: "after", open: 64, limit: 1024 },
    ]);
    const track = widthOf(svg, "fd-track");
    expect(widthOf(svg, "fd-used", 0) / track).toBeCloseTo(1, 3);
    expect(widthOf(svg, "fd-used", 1) / track).toBeCloseTo(64 / 1024, 2);
    expect(svg).toContain("1,024 / 1,024 (100%)");
    expect(svg).not.toMatch(/NaN|undefined/);
  });

  it("copes with an unlimited fd limit", () => {
    const svg = fdUsageSvg([{ label: "before", open: 10, limit: null }]);
    expect(svg).toContain("10 open (no limit)");
    expect(svg).not.toContain('data-role="fd-used"');
  });

  it("stacks connection states on one scale", () => {
    const svg = connectionStatesSvg([
      { label: "before", byState: { ESTAB: 900, "CLOSE-WAIT": 100 } },
      { label: "after", byState: { ESTAB: 10 } },
    ]);
    const segs = [...svg.matchAll(/data-state="([^"]+)" data-count="(\d+)"[^>]*width="([\d.]+)"/g)].map(
      (m) => ({
        state: m[1],
        count: Number(m[2]),
        width: Number(m[3]),
      }),
    );
    expect(segs.map((s) => s.state)).toEqual(["ESTAB", "CLOSE-WAIT", "ESTAB"]);
    expect((segs[0]?.width ?? 0) / (segs[2]?.width ?? 1)).toBeCloseTo(90, 0);
  });

  it("escapes all text", () => {
    const svg = fdUsageSvg([{ label: `<script>alert("x")</script>&`, open: 1, limit: 2 }], "a < b");
    expect(svg).not.toContain("<script>");
    expect(svg).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;");
    expect(escapeXml(`'"<>&`)).toBe("&apos;&quot;&lt;&gt;&amp;");
    const conn = connectionStatesSvg([{ label: "x", byState: { "<weird>": 3 } }]);
    expect(conn).not.toContain("<weird>");
  });
});

describe("mermaid labels", () => {
  it("removes characters that break a gantt line", () => {
    expect(sanitiseMermaidLabel("Threshold Crossed: 2 of 2; #3 [1.0] (x) <b>")).toBe(
      "Threshold Crossed 2 of 2 3 1.0 x b",
    );
    expect(sanitiseMermaidLabel("a\nb")).toBe("a b");
    expect(sanitiseMermaidLabel(":::")).toBe("event");
    expect(sanitiseMermaidLabel("x".repeat(100)).length).toBe(60);
  });
});
