import { beforeAll, describe, expect, it } from "vitest";
import { loadPostmortemTemplates } from "../../../lambdas/adapters/local/template-loader.js";
import { INCIDENT_STATUSES } from "../../../lambdas/core/incident/schema.js";
import { TemplateRenderError } from "../../../lambdas/core/postmortem/errors.js";
import {
  escapeTableCell,
  type PostmortemTemplates,
  renderPostmortem,
} from "../../../lambdas/core/postmortem/render-postmortem.js";
import type { Postmortem } from "../../../lambdas/core/postmortem/schema.js";
import { failedCollectionRecord, websocketSessionLeakRecord } from "../../support/record-factory.js";
import { fixtureNames, loadFixture, mainPart, model, recordedFixtureNames, wordCount } from "./helpers.js";

let templates: PostmortemTemplates;
beforeAll(async () => {
  templates = await loadPostmortemTemplates();
});

const BAD_OUTPUT = /undefined|NaN|\[object Object\]/;
/** Google's SRE book aims for two or three pages; the main document must fit two printed pages. */
const MAIN_WORDS_MAX = 900;

describe("renderPostmortem: snapshots", () => {
  it.each(fixtureNames())("renders %s to the reviewed Markdown", async (name) => {
    const { markdown } = renderPostmortem(model(loadFixture(name)), templates);
    await expect(markdown).toMatchFileSnapshot(`./__snapshots__/${name}.md`);
  });

  it("has a recorded run for every outcome a local run can end in, and a fixture for every other outcome", () => {
    const statuses = new Set(recordedFixtureNames().map((n) => loadFixture(n).status));
    expect([...statuses].sort()).toEqual([
      "cooldown",
      "declined",
      "escalated",
      "interrupted",
      "not-down",
      "planned",
      "recovered",
    ]);
    // `braked` (only the state machine's fleet brake) and `failed` are hand-made in test/support/record-factory.ts.
    const all = new Set(fixtureNames().map((n) => loadFixture(n).status));
    expect([...all].sort()).toEqual(INCIDENT_STATUSES.filter((s) => s !== "running").sort());
  });
});

describe("renderPostmortem: two pages, then the appendix", () => {
  it.each(fixtureNames())(`keeps the main part of %s within ${MAIN_WORDS_MAX} words`, (name) => {
    const { markdown } = renderPostmortem(model(loadFixture(name)), templates);
    const main = mainPart(markdown);
    expect(wordCount(main), name).toBeLessThanOrEqual(MAIN_WORDS_MAX);
    for (const heading of ["Summary", "Impact", "Root cause", "Resolution", "Action items"])
      expect(main, name).toContain(`\n## ${heading}\n`);
    // What the appendix holds is not in the main part.
    for (const heading of ["Timeline", "Evidence", "Raw evidence", "What is missing"])
      expect(main, name).not.toContain(`### ${heading}\n`);
  });

  it("shows each long tool error once, and no raw floats", () => {
    const { markdown } = renderPostmortem(model(loadFixture("recorded/ws-leak-recovered")), templates);
    expect(markdown.split("Unable to open socket file").length - 1).toBe(1);
    expect(markdown).not.toMatch(/\d\.\d{4,}/);
    // The counts of this run (1,009 to 1,024) appear formatted, never as 1009 or 1024.
    expect(mainPart(markdown)).toContain("1,024");
    expect(mainPart(markdown)).not.toMatch(/\b10\d\d\b/);
  });

  it("links the cited figures and the raw evidence relatively, never by the runner's absolute path", () => {
    const r = loadFixture("recorded/ws-leak-recovered");
    const { markdown, html } = renderPostmortem(model(r), templates);
    expect(mainPart(markdown)).toContain("([raw](evidence/evidence-before.json))");
    for (const a of r.artifacts) {
      expect(markdown).toContain(`[${a.name}](${a.name})`);
      expect(html).toContain(`<a href="${a.name}">`);
      expect(markdown).not.toContain(a.uri);
    }
  });

  it("puts the appendix in a <details> in HTML, outside the main part", () => {
    const { html } = renderPostmortem(model(loadFixture("recorded/ws-leak-recovered")), templates);
    const details = html.indexOf('<details class="appendix"');
    expect(details).toBeGreaterThan(html.indexOf('<section id="action-items">'));
    expect(html.indexOf('<section id="timeline">')).toBeGreaterThan(details);
    expect(html).toContain("@media print");
  });
});

describe("renderPostmortem: strict templates", () => {
  it("renders every fixture with every shipped template, with no undefined, NaN or [object Object]", () => {
    for (const name of fixtureNames()) {
      const out = renderPostmortem(model(loadFixture(name)), templates);
      expect(out.markdown, name).not.toMatch(BAD_OUTPUT);
      expect(out.html, name).not.toMatch(BAD_OUTPUT);
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
    const m = structuredClone(model(websocketSessionLeakRecord())) as unknown as Record<string, unknown>;
    remove(m);
    let error: unknown;
    try {
      renderPostmortem(m as unknown as Postmortem, templates);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TemplateRenderError);
    expect((error as Error).message).toMatch(new RegExp(`"([\\w.]+\\.)?${field}" not defined`));
  });

  it("uses every top-level model field: removing any one makes rendering throw", () => {
    const base = model(websocketSessionLeakRecord());
    const notRendered = new Set(["schemaVersion", "failureClass"]);
    for (const key of Object.keys(base).filter((k) => !notRendered.has(k))) {
      const m = structuredClone(base) as unknown as Record<string, unknown>;
      delete m[key];
      expect(() => renderPostmortem(m as unknown as Postmortem, templates), key).toThrow(TemplateRenderError);
    }
  });

  it("throws on a template that names a field the model does not have", () => {
    expect(() =>
      renderPostmortem(model(websocketSessionLeakRecord()), { ...templates, markdown: "{{noSuchField}}" }),
    ).toThrow(/"noSuchField" not defined/);
  });
});

describe("renderPostmortem: content", () => {
  it("draws the charts from the model's data at render time, as sibling SVG files and inline in HTML", () => {
    const { markdown, html, assets } = renderPostmortem(
      model(loadFixture("recorded/ws-leak-recovered")),
      templates,
    );
    expect(assets.map((a) => a.fileName)).toEqual([
      "postmortem-fd-usage.svg",
      "postmortem-connection-states.svg",
      "postmortem-idle-age.svg",
    ]);
    for (const a of assets) {
      expect(a.body).toMatch(/^<svg /);
      expect(markdown).toContain(`](${a.fileName})`);
      // Every row says when it was measured.
      expect(a.body.match(/\d\d:\d\d:\d\d UTC/g)?.length).toBe(3);
    }
    expect(html).toContain('<figure class="chart" data-chart="idle-age"');
    expect(html).not.toMatch(/(src|href)="https?:(?!\/\/(bz|tomcat)\.apache\.org)/);
    expect(html).not.toContain("<script");
  });

  it("shows the ruled-out scope, the known fixes table and what won't help", () => {
    const { markdown } = renderPostmortem(model(loadFixture("recorded/ws-leak-recovered")), templates);
    expect(markdown).toContain("| [CVE-2024-23672](https://tomcat.apache.org/security-10.html) |");
    expect(markdown).toContain("8.5.99, 9.0.86, 10.1.19");
    expect(markdown).toMatch(/- \*\*sysctl `net\.ipv4\.tcp_keepalive_time`/);
    expect(markdown).toContain("Only the fix it names was checked");
  });

  it("renders the incident that failed mid-way and says what is missing", () => {
    const { markdown, html } = renderPostmortem(model(failedCollectionRecord()), templates);
    expect(markdown).toContain("This postmortem is incomplete");
    expect(markdown).toContain("### What is missing");
    expect(markdown).toContain("- **Step collect**: failed: CommandUndeliverableError: SSM command to");
    expect(markdown).toContain("Not established: no diagnosis was made.");
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
    const { markdown, html } = renderPostmortem(model(hostile), templates);
    expect(markdown).not.toContain("<script>");
    expect(html).not.toContain("<script>");
    expect(markdown).toContain("| line one \\| pipe<br>line two |");
  });

  it("puts the leak rate and the next time the limit is reached in the resolution, and labels a relief temporary", () => {
    const m = model(loadFixture("recorded/ws-leak-recovered"));
    const f = m.recurrenceForecast;
    expect(f.status).toBe("recurs");
    expect(f.temporary).toBe(true);
    expect(f.reliefActions).toEqual(["kill-idle-connections"]);
    // The fix for the cause is an existing action item of the class, and the main document lists it.
    expect(f.fixActionItem).toBe("close-native-session");
    expect(m.actionItems.map((i) => i.id)).toContain("close-native-session");
    const { markdown, html } = renderPostmortem(m, templates);
    const main = mainPart(markdown);
    const resolution = main.slice(main.indexOf("\n## Resolution\n"), main.indexOf("\n## Action items\n"));
    expect(resolution).toContain(
      "Leak rate: 75,600 fds/h; at this rate the limit is reached again around 2026-12-02 02:52:17 UTC (~47 s after recovery). " +
        "Basis: 1,008 fds leaked (1,024 before, 16 after the fix) over ~48 s of uptime; 1,008 fds of headroom to the limit of 1,024.",
    );
    expect(resolution).toContain(
      "**Temporary fix:** `kill-idle-connections` relieved the symptom; the cause is still in place. " +
        "The fix is the action item “Close the native Tomcat session, not only Spring's wrapper”.",
    );
    expect(markdown).not.toContain("### Recurrence forecast");
    // Printed too (no screen-only): only the basis is left to the screen.
    expect(html).toContain('<p data-recurrence="recurs">Leak rate: 75,600 fds/h;');
    expect(html).toContain('<span class="muted screen-only">Basis: 1,008 fds leaked');
    expect(html).toMatch(
      /<p class="warning" data-temporary><strong>Temporary fix:<\/strong> <code>kill-idle-connections<\/code> relieved/,
    );
  });

  it("formats a slow leak in days, from the seed incident", () => {
    const { markdown } = renderPostmortem(model(websocketSessionLeakRecord()), templates);
    expect(mainPart(markdown)).toMatch(
      /Leak rate: 2\.9 fds\/h; at this rate the limit is reached again around 2025-03-25 02:16:28 UTC \(~14 days after recovery\)\. Basis: 963 fds leaked \(1,024 before, 61 after the fix\) over ~14 days of uptime;/,
    );
  });

  it.each([
    ["recorded/ws-leak-plan", "unknown", "no fix was verified, so there are no before/after figures"],
    ["recorded/slow-escalated", "not-a-leak", "the root cause (thread-pool-exhaustion) is not a leak"],
    ["recorded/ws-leak-interrupted", "not-a-leak", "no root cause was diagnosed"],
    // A restart that cures a process that died is no temporary fix: there is no leak left in place.
    ["recorded/process-down", "not-a-leak", "the root cause (process-down) is not a leak"],
    ["process-down", "not-a-leak", "the root cause (process-down) is not a leak"],
  ])("gives no recurrence line for %s, only the reason (%s) in the appendix", (name, status, reason) => {
    const m = model(loadFixture(name));
    expect(m.recurrenceForecast).toMatchObject({
      status,
      reason,
      line: null,
      temporary: false,
      temporaryNote: null,
    });
    const { markdown, html } = renderPostmortem(m, templates);
    expect(mainPart(markdown)).not.toContain("Leak rate:");
    expect(markdown).not.toContain("Temporary fix");
    expect(markdown.slice(markdown.indexOf("\n## Appendix\n"))).toContain(
      `### Recurrence forecast\n\nNone: ${reason}.\n`,
    );
    expect(html).toContain(`<p data-recurrence="${status}">None: ${reason}.</p>`);
    expect(html).not.toContain("data-temporary");
  });
});
