import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPostmortemTemplates } from "../../lambdas/adapters/local/template-loader.js";
import { buildPostmortem } from "../../lambdas/core/postmortem/build-postmortem.js";
import { renderPostmortem } from "../../lambdas/core/postmortem/render-postmortem.js";
import { launchChromium } from "../support/chromium.js";
import { failedCollectionRecord, websocketSessionLeakRecord } from "../support/record-factory.js";

// No skip when chromium is missing: launchChromium throws "chromium not found at /usr/bin/chromium: run scripts/setup.sh".
let session: Awaited<ReturnType<typeof launchChromium>>;
const dir = mkdtempSync(join(tmpdir(), "pm-html-"));

async function htmlFile(
  name: string,
  record: ReturnType<typeof websocketSessionLeakRecord>,
): Promise<string> {
  const { html } = renderPostmortem(buildPostmortem(record), await loadPostmortemTemplates());
  const path = join(dir, `${name}.html`);
  writeFileSync(path, html);
  return `file://${path}`;
}

beforeAll(async () => {
  session = await launchChromium();
});
afterAll(async () => {
  await session?.close();
});

describe("postmortem.html in headless chromium", () => {
  it("renders the SVG charts with sizes proportional to the figures, and loads nothing from the network", async () => {
    const page = await session.browser.newPage({ viewport: { width: 1120, height: 900 } });
    const requests: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith("file:")) requests.push(r.url());
    });
    await page.goto(await htmlFile("ws", websocketSessionLeakRecord()));

    for (const chart of ["fd-usage", "connection-states"]) {
      const box = await page.locator(`figure[data-chart="${chart}"] svg`).boundingBox();
      expect(box?.width, chart).toBeGreaterThan(300);
      expect(box?.height, chart).toBeGreaterThan(60);
    }
    // fd gauge: before 1,024/1,024 fills the track; after 61/1,024 fills about 6% of it.
    const rows = page.locator('figure[data-chart="fd-usage"] [data-role="fd-row"]');
    expect(await rows.count()).toBe(3);
    const width = async (snapshot: string, role: string) =>
      (
        await page
          .locator(`[data-role="fd-row"][data-snapshot="${snapshot}"] [data-role="${role}"]`)
          .boundingBox()
      )?.width ?? 0;
    const track = await width("before", "fd-track");
    expect(track).toBeGreaterThan(100);
    expect((await width("before", "fd-used")) / track).toBeCloseTo(1, 2);
    expect((await width("after", "fd-used")) / track).toBeCloseTo(61 / 1024, 2);

    // connection states: the ESTAB segment before is ~998/12 times the one after.
    const estab = async (snapshot: string) =>
      (
        await page
          .locator(`[data-role="conn-row"][data-snapshot="${snapshot}"] [data-state="ESTAB"]`)
          .boundingBox()
      )?.width ?? 0;
    expect(await estab("before")).toBeGreaterThan(300);
    expect((await estab("before")) / (await estab("after"))).toBeGreaterThan(50);

    await expect(
      page.locator("tr.hl", { hasText: "org.apache.tomcat.websocket.WsSession" }).count(),
    ).resolves.toBe(1);
    expect(await page.locator('table[data-table="timeline"] tbody tr').count()).toBeGreaterThan(10);
    expect(requests).toEqual([]);
    await page.close();
  });

  it("renders the failed run without charts and lists what is missing", async () => {
    const page = await session.browser.newPage();
    await page.goto(await htmlFile("failed", failedCollectionRecord()));
    expect(await page.locator("figure[data-chart]").count()).toBe(0);
    const missing = page.locator('ul[data-list="missing"] li');
    expect(await missing.count()).toBeGreaterThan(3);
    expect(await missing.first().isVisible()).toBe(true);
    await page.close();
  });
});
