import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writePostmortem } from "../../../lambdas/workflows/postmortem.js";
import { BIN as bin } from "../../support/cli.js";
import { FIXTURES_DIR } from "./helpers.js";

function incidentDir(fixture: string): string {
  const dir = join(mkdtempSync(join(tmpdir(), "pm-cli-")), "inc-1");
  mkdirSync(dir);
  cpSync(join(FIXTURES_DIR, `${fixture}.json`), join(dir, "incident.json"));
  return dir;
}

describe("runbook postmortem", () => {
  it("writes postmortem.md, postmortem.html and the charts next to incident.json", () => {
    const dir = incidentDir("websocket-session-leak");
    const r = spawnSync("node", [bin, "postmortem", dir], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    for (const f of [
      "postmortem.md",
      "postmortem.html",
      "postmortem-fd-usage.svg",
      "postmortem-connection-states.svg",
    ]) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    expect(readFileSync(join(dir, "postmortem.md"), "utf8")).toMatch(
      /^# Postmortem: Idle WebSocket connections held open until the open-files limit/,
    );
  });

  it("fails with one clear line and a non-zero exit when incident.json is missing or invalid", () => {
    const missing = spawnSync("node", [bin, "postmortem", join(tmpdir(), "no-such-incident")], {
      encoding: "utf8",
    });
    expect(missing.status).toBe(1);
    expect(missing.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(/^runbook: no incident\.json in /),
    ]);

    const dir = incidentDir("websocket-session-leak");
    writeFileSync(join(dir, "incident.json"), JSON.stringify({ schemaVersion: 1, incidentId: 3 }));
    const bad = spawnSync("node", [bin, "postmortem", dir], { encoding: "utf8" });
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toMatch(/is not a valid incident record: incidentId: /);

    writeFileSync(join(dir, "incident.json"), "{not json");
    const notJson = spawnSync("node", [bin, "postmortem", dir], { encoding: "utf8" });
    expect(notJson.status).toBe(1);
    expect(notJson.stderr).toMatch(/is not JSON/);
  });

  it("writes into --out and takes single partials from --templates", async () => {
    const dir = incidentDir("load-balancer-path");
    const custom = mkdtempSync(join(tmpdir(), "pm-templates-"));
    mkdirSync(join(custom, "partials", "md"), { recursive: true });
    writeFileSync(join(custom, "partials", "md", "summary.hbs"), "## Summary\n\nCUSTOM: {{md trigger}}\n");
    const out = join(dir, "out");
    const written = await writePostmortem(dir, { templatesDir: custom, outDir: out });
    expect(written.markdownPath).toBe(join(out, "postmortem.md"));
    const md = readFileSync(written.markdownPath, "utf8");
    expect(md).toContain("CUSTOM: The failure was seen through the load balancer");
    expect(md).toContain("## Action items");
  });
});
