/**
 * Renders a postmortem to HTML and saves a full-page PNG, to check that it reads well.
 *
 *   npm run screenshot                          # every fixture in test/fixtures/records
 *   npm run screenshot -- websocket-session-leak # one fixture
 *   npm run screenshot -- .incidents/<id>        # a saved incident folder (incident.json)
 *
 * Output: screenshots/postmortem-<name>.png (and .html next to it). The folder is gitignored.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadPostmortemKnowledge } from "../lambdas/adapters/local/knowledge-loader.js";
import { loadPostmortemTemplates } from "../lambdas/adapters/local/template-loader.js";
import { buildPostmortem } from "../lambdas/core/postmortem/build-postmortem.js";
import { renderPostmortem } from "../lambdas/core/postmortem/render-postmortem.js";
import { INCIDENT_FILE, parseIncidentRecord } from "../lambdas/workflows/postmortem.js";
import { launchChromium } from "../test/support/chromium.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const fixtures = join(root, "test/fixtures/records");
const outDir = join(root, "screenshots");

function sources(args: string[]): { name: string; path: string }[] {
  if (args.length === 0) {
    return readdirSync(fixtures)
      .filter((f) => f.endsWith(".json"))
      .sort()
      .map((f) => ({ name: basename(f, ".json"), path: join(fixtures, f) }));
  }
  return args.map((a) => {
    const p = resolve(a);
    if (existsSync(p) && statSync(p).isDirectory())
      return { name: basename(p), path: join(p, INCIDENT_FILE) };
    if (existsSync(p)) return { name: basename(p, ".json"), path: p };
    return { name: a, path: join(fixtures, `${a}.json`) };
  });
}

const templates = await loadPostmortemTemplates(process.env.TEMPLATES_DIR);
const knowledge = await loadPostmortemKnowledge();
mkdirSync(outDir, { recursive: true });
const { browser, close } = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1120, height: 900 }, deviceScaleFactor: 1 });
  for (const src of sources(process.argv.slice(2))) {
    const record = parseIncidentRecord(readFileSync(src.path, "utf8"), src.path);
    const { html } = renderPostmortem(buildPostmortem(record, { knowledge }), templates);
    const htmlPath = join(outDir, `postmortem-${src.name}.html`);
    const pngPath = join(outDir, `postmortem-${src.name}.png`);
    writeFileSync(htmlPath, html);
    await page.goto(`file://${htmlPath}`);
    await page.screenshot({ path: pngPath, fullPage: true });
    process.stdout.write(`${pngPath}\n`);
  }
} finally {
  await close();
}
