import { beforeAll, describe, expect, it } from "vitest";
import { loadPostmortemTemplates } from "../../../lambdas/adapters/local/template-loader.js";
import { buildPostmortem } from "../../../lambdas/core/postmortem/build-postmortem.js";
import { TemplateRenderError } from "../../../lambdas/core/postmortem/errors.js";
import {
  escapeTableCell,
  type PostmortemTemplates,
  renderPostmortem,
} from "../../../lambdas/core/postmortem/render-postmortem.js";
import type { Postmortem } from "../../../lambdas/core/postmortem/schema.js";
import { failedCollectionRecord, websocketSessionLeakRecord } from "../../support/record-factory.js";
import { fixtureNames, GENERATED_AT, loadFixture } from "./helpers.js";

let templates: PostmortemTemplates;
beforeAll(async () => {
  templates = await loadPostmortemTemplates();
});

const BAD_OUTPUT = /undefined|NaN|\[object Object\]/;

describe("renderPostmortem: snapshots", () => {
  it.each(fixtureNames())("renders %s to the reviewed Markdown", async (name) => {
    const { markdown } = renderPostmortem(
      buildPostmortem(loadFixture(name), { generatedAt: GENERATED_AT }),
      templates,
    );
    await expect(markdown).toMatchFileSnapshot(`./__snapshots__/${name}.md`);
  });
});

describe("renderPostmortem: strict templates", () => {
  it("renders every fixture with every shipped template, with no undefined, NaN or [object Object]", () => {
    for (const name of fixtureNames()) {
      const out = renderPostmortem(
        buildPostmortem(loadFixture(name), { generatedAt: GENERATED_AT }),
        templates,
      );
      expect(out.markdown, name).not.toMatch(BAD_OUTPUT);
      expect(out.html, name).not.toMatch(BAD_OUTPUT);
      expect(out.markdown.length).toBeGreaterThan(1000);
    }
  });

  it.each([
    ["title", (m: Record<string, unknown>) => delete m.title],
    ["summary", (m: Record<string, unknown>) => delete m.summary],
    ["trigger", (m: Record<string, unknown>) => delete m.trigger],
    ["level", (m: Record<string, unknown>) => delete (m.severity as Record<string, unknown>).level],
    ["lucky", (m: Record<string, unknown>) => delete (m.lessons as Record<string, unknown>).lucky],
    ["resolution", (m: Record<string, unknown>) => delete m.resolution],
    ["mermaid", (m: Record<string, unknown>) => delete m.mermaid],
    ["timeToRecoverMs", (m: Record<string, unknown>) => delete m.timeToRecoverMs],
  ])("throws naming the field when the model lacks %s", (field, remove) => {
    const model = structuredClone(buildPostmortem(websocketSessionLeakRecord())) as unknown as Record<
      string,
      unknown
    >;
    remove(model);
    let error: unknown;
    try {
      renderPostmortem(model as unknown as Postmortem, templates);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TemplateRenderError);
    expect((error as Error).message).toMatch(new RegExp(`"([\\w.]+\\.)?${field}" not defined`));
  });

  it("uses every top-level model field: removing any one makes rendering throw", () => {
    const base = buildPostmortem(websocketSessionLeakRecord());
    const notRendered = new Set(["schemaVersion", "failureClass"]);
    for (const key of Object.keys(base).filter((k) => !notRendered.has(k))) {
      const model = structuredClone(base) as unknown as Record<string, unknown>;
      delete model[key];
      // A missing leaf is named ("x" not defined); a missing object fails on its first property read.
      expect(() => renderPostmortem(model as unknown as Postmortem, templates), key).toThrow(
        TemplateRenderError,
      );
    }
  });

  it("throws on a template that names a field the model does not have", () => {
    const model = buildPostmortem(websocketSessionLeakRecord());
    expect(() => renderPostmortem(model, { ...templates, markdown: "{{noSuchField}}" })).toThrow(
      /"noSuchField" not defined/,
    );
  });

  it("renders each section partial", () => {
    const { markdown, html } = renderPostmortem(buildPostmortem(websocketSessionLeakRecord()), templates);
    for (const heading of [
      "Summary",
      "Impact",
      "Root Causes",
      "Trigger",
      "Resolution",
      "Detection",
      "Action Items",
      "Lessons Learned",
      "Timeline",
      "Supporting information",
    ]) {
      expect(markdown).toContain(`\n## ${heading}\n`);
      expect(html).toContain(`<h2>${heading}</h2>`);
    }
  });
});

describe("renderPostmortem: content", () => {
  it("shows the WebSocket evidence, ruled-out hypotheses, nginx snippet, charts and raw evidence links", () => {
    const r = websocketSessionLeakRecord();
    const { markdown, html, assets } = renderPostmortem(buildPostmortem(r), templates);
    expect(markdown).toContain("**org.apache.tomcat.websocket.WsSession**");
    expect(markdown).toContain("### What we ruled out and why");
    expect(markdown).toContain("**Slow SQL held the request threads** (`slow-database`)");
    expect(markdown).toMatch(/```nginx\nlocation \/ws\/ \{[\s\S]*proxy_read_timeout 300s;[\s\S]*```/);
    expect(markdown).toContain("```mermaid\ngantt\n");
    expect(markdown).toContain("](postmortem-fd-usage.svg)");
    expect(assets.map((a) => a.fileName)).toEqual([
      "postmortem-fd-usage.svg",
      "postmortem-connection-states.svg",
    ]);
    for (const a of r.artifacts) {
      expect(markdown).toContain(a.sha256);
      expect(html).toContain(a.uri);
    }
    expect(html).toContain('<figure class="chart" data-chart="fd-usage"');
    expect(html).toContain("<svg ");
    expect(html).not.toMatch(/(src|href)="https?:/);
    expect(html).not.toContain("<script");
  });

  it("renders the incident that failed mid-way and says what is missing", () => {
    const { markdown, html } = renderPostmortem(buildPostmortem(failedCollectionRecord()), templates);
    expect(markdown).toContain("This postmortem is incomplete");
    expect(markdown).toContain("### What is missing");
    expect(markdown).toContain("- **Step collect**: failed: CommandUndeliverableError: SSM command to");
    expect(markdown).toContain("- **Evidence before mitigation**:");
    expect(markdown).toContain("- **Diagnosis**: the run ended before diagnosing");
    expect(markdown).toContain("Not established: no diagnosis was made.");
    expect(markdown).toContain("_Unavailable: no evidence was collected_");
    expect(html).toContain('<ul data-list="missing">');
  });

  it("escapes pipes and newlines in table cells and HTML in record text", () => {
    expect(escapeTableCell("a | b\nc")).toBe("a \\| b<br>c");
    const r = websocketSessionLeakRecord();
    const hostile = {
      ...r,
      statusReason: "<script>alert(1)</script> | done",
      steps: r.steps.map((s) => (s.id === "plan" ? { ...s, note: "line one | pipe\nline two" } : s)),
    };
    const { markdown, html } = renderPostmortem(buildPostmortem(hostile), templates);
    expect(markdown).not.toContain("<script>");
    expect(html).not.toContain("<script>");
    expect(markdown).toContain("| line one \\| pipe<br>line two |");
    const tableLines = markdown.split("\n").filter((l) => l.startsWith("| 02:14:50 "));
    expect(tableLines).toHaveLength(1);
  });
});
