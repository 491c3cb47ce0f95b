import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPostmortemTemplates } from "../../lambdas/adapters/local/template-loader.js";
import type { IncidentRecord } from "../../lambdas/core/incident/schema.js";
import { renderPostmortem } from "../../lambdas/core/postmortem/render-postmortem.js";
import { launchChromium } from "../support/chromium.js";
import { failedCollectionRecord } from "../support/record-factory.js";
import { loadFixture, model } from "../unit/postmortem/helpers.js";

// No skip when chromium is missing: launchChromium throws "chromium not found at /usr/bin/chromium: run scripts/setup.sh".
let session: Awaited<ReturnType<typeof launchChromium>>;
const dir = mkdtempSync(join(tmpdir(), "pm-html-"));
/** The screenshots in docs/postmortem.md: `UPDATE_DOC_SCREENSHOTS=1` writes them there, else to a temp dir. */
const SHOTS = process.env.UPDATE_DOC_SCREENSHOTS
  ? fileURLToPath(new URL("../../docs/images/", import.meta.url))
  : dir;
const WIDTH = 1280;

async function htmlFile(name: string, record: IncidentRecord): Promise<string> {
  const { html } = renderPostmortem(model(record), await loadPostmortemTemplates());
  const path = join(dir, `${name}.html`);
  writeFileSync(path, html);
  return `file://${path}`;
}

/** Widest element box against the viewport, and tables whose content is wider than their box (clipped). */
async function layout(page: Page): Promise<{ scrollWidth: number; clipped: string[] }> {
  // Runs in the page (a string: the test's tsconfig has no DOM types).
  return page.evaluate(`({
    scrollWidth: document.documentElement.scrollWidth,
    clipped: [...document.querySelectorAll("table, pre")]
      .filter((e) => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1)
      .map((e) => e.getAttribute("data-table") ?? e.tagName),
  })`);
}

const pngWidth = (file: string) => readFileSync(file).readUInt32BE(16);

beforeAll(async () => {
  session = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
});
afterAll(async () => {
  await session?.close();
});

describe("postmortem.html in headless chromium", () => {
  it("fits 1,280 px on screen, opens the appendix in <details>, draws charts proportional to the figures", async () => {
    const page = await session.browser.newPage({ viewport: { width: WIDTH, height: 900 } });
    const requests: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith("file:")) requests.push(r.url());
    });
    await page.goto(await htmlFile("ws", loadFixture("recorded/ws-leak-recovered")));
    expect(await layout(page)).toEqual({ scrollWidth: WIDTH, clipped: [] });
    await page.screenshot({ path: join(SHOTS, "postmortem-screen.png"), fullPage: true });
    expect(pngWidth(join(SHOTS, "postmortem-screen.png"))).toBe(WIDTH);

    // The appendix is closed: its charts take no room until a reader opens it.
    expect(await page.locator('figure[data-chart="fd-usage"]').isVisible()).toBe(false);
    await page.locator("details.appendix > summary").click();
    expect(await layout(page)).toEqual({ scrollWidth: WIDTH, clipped: [] });
    for (const chart of ["fd-usage", "connection-states", "idle-age"]) {
      const box = await page.locator(`figure[data-chart="${chart}"] svg`).boundingBox();
      expect(box?.width, chart).toBeGreaterThan(300);
    }
    // fd gauge of the recorded run: before 1,024 of 1,024 fills the track; after 16 of 1,024 about 1.6%.
    const width = async (snapshot: string, role: string) =>
      (
        await page
          .locator(`[data-role="fd-row"][data-snapshot="${snapshot}"] [data-role="${role}"]`)
          .boundingBox()
      )?.width ?? 0;
    const track = await width("before", "fd-track");
    expect((await width("before", "fd-used")) / track).toBeCloseTo(1, 2);
    expect((await width("after", "fd-used")) / track).toBeCloseTo(16 / 1024, 2);
    // Every chart row says when it was measured.
    expect(
      await page.locator('figure[data-chart="idle-age"] text', { hasText: /^\d\d:\d\d:\d\d UTC$/ }).count(),
    ).toBe(3);
    await expect(
      page.locator("tr.hl", { hasText: "org.apache.tomcat.websocket.WsSession" }).count(),
    ).resolves.toBe(1);
    expect(requests).toEqual([]);
    await page.close();
  });

  it("prints the main document on two pages, with light code blocks and no clipped columns", async () => {
    const page = await session.browser.newPage({ viewport: { width: WIDTH, height: 900 } });
    await page.goto(await htmlFile("ws-print", loadFixture("recorded/ws-leak-recovered")));
    await page.emulateMedia({ media: "print" });
    // The temporary fix and the leak rate are printed, not only shown on screen.
    expect(await page.locator("p[data-temporary]").isVisible()).toBe(true);
    expect(await page.locator('p[data-recurrence="recurs"]').isVisible()).toBe(true);
    const pdf = await page.pdf({ format: "A4", printBackground: true });
    const pages = pdf.toString("latin1").match(/\/Type\s*\/Page(?!s)/g)?.length ?? 0;
    expect(pages).toBeGreaterThanOrEqual(1);
    expect(pages).toBeLessThanOrEqual(2);
    await page.screenshot({ path: join(SHOTS, "postmortem-print.png"), fullPage: true });

    await page.locator("details.appendix > summary").click();
    const pre = await page.evaluate('getComputedStyle(document.querySelector("pre")).backgroundColor');
    expect(pre).toBe("rgb(246, 248, 250)");
    expect((await layout(page)).clipped).toEqual([]);
    await page.close();
  });

  it("renders the failed run without charts and lists what is missing", async () => {
    const page = await session.browser.newPage();
    await page.goto(await htmlFile("failed", failedCollectionRecord()));
    expect(await page.locator("figure[data-chart]").count()).toBe(0);
    await page.locator("details.appendix > summary").click();
    const missing = page.locator('ul[data-list="missing"] li');
    expect(await missing.count()).toBeGreaterThan(3);
    expect(await missing.first().isVisible()).toBe(true);
    await page.close();
  });
});
