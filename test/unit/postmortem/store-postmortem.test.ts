import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RenderedPostmortem } from "../../../lambdas/core/postmortem/render-postmortem.js";
import type { ArtifactStore, StoredArtifact } from "../../../lambdas/ports/index.js";
import { artifactsUnder, storePostmortem, writePostmortem } from "../../../lambdas/workflows/postmortem.js";
import { FIXTURES_DIR } from "./helpers.js";

/** An ArtifactStore that keeps what it is given, to see every write the writer makes. */
class MemoryArtifactStore implements ArtifactStore {
  readonly puts: { key: string; body: string; contentType: string }[] = [];
  async put(key: string, body: string | Uint8Array, contentType: string): Promise<StoredArtifact> {
    const text = typeof body === "string" ? body : Buffer.from(body).toString("utf8");
    this.puts.push({ key, body: text, contentType });
    return { key, uri: `mem://${key}`, sha256: "-", bytes: Buffer.byteLength(text), contentType };
  }
  async get(key: string): Promise<string | null> {
    return this.puts.findLast((p) => p.key === key)?.body ?? null;
  }
  async getUri(): Promise<string | null> {
    return null;
  }
}

const SECRET = "hunter2-s3cr3t";
const RENDERED: RenderedPostmortem = {
  markdown: `# Postmortem\n\nThe app ran with -Ddb.password=${SECRET}\n`,
  html: `<p>password=${SECRET}</p>`,
  assets: [
    { fileName: "postmortem-fd-usage.svg", contentType: "image/svg+xml", body: `<svg>token=${SECRET}</svg>` },
  ],
};

describe("storePostmortem: the one postmortem writer", () => {
  it("puts postmortem.md, postmortem.html and the charts under the prefix, with their content types", async () => {
    const store = new MemoryArtifactStore();
    const stored = await storePostmortem(RENDERED, artifactsUnder(store, "inc-1/i-0abc"));
    expect(store.puts.map((p) => [p.key, p.contentType])).toEqual([
      ["inc-1/i-0abc/postmortem.md", "text/markdown"],
      ["inc-1/i-0abc/postmortem.html", "text/html"],
      ["inc-1/i-0abc/postmortem-fd-usage.svg", "image/svg+xml"],
    ]);
    expect(stored.markdown.uri).toBe("mem://inc-1/i-0abc/postmortem.md");
    expect(stored.assets.map((a) => a.key)).toEqual(["inc-1/i-0abc/postmortem-fd-usage.svg"]);
  });

  it("redacts every file before it reaches the store", async () => {
    const store = new MemoryArtifactStore();
    await storePostmortem(RENDERED, artifactsUnder(store, ""));
    expect(store.puts).toHaveLength(3);
    for (const p of store.puts) expect(p.body, p.key).not.toContain(SECRET);
    expect(store.puts[0]?.body).toContain("# Postmortem");
  });

  it("writePostmortem writes only through the given store, nothing beside the incident folder's record", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "pm-store-")), "inc-1");
    mkdirSync(dir);
    cpSync(join(FIXTURES_DIR, "websocket-session-leak.json"), join(dir, "incident.json"));
    const store = new MemoryArtifactStore();
    const written = await writePostmortem(dir, { artifacts: store });
    expect(readdirSync(dir)).toEqual(["incident.json"]);
    expect(written.markdownPath).toBe("mem://postmortem.md");
    expect(store.puts.map((p) => p.key)).toEqual([
      "postmortem.md",
      "postmortem.html",
      ...written.assetPaths.map((u) => u.replace("mem://", "")),
    ]);
    expect(written.assetPaths.length).toBeGreaterThan(0);
    expect(store.puts[0]?.body).toMatch(/^# Postmortem: Idle WebSocket connections/);
  });

  it("writePostmortem on a folder returns the files' paths and leaves no temporary file", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "pm-store-")), "inc-1");
    mkdirSync(dir);
    cpSync(join(FIXTURES_DIR, "websocket-session-leak.json"), join(dir, "incident.json"));
    const written = await writePostmortem(dir);
    expect(written.markdownPath).toBe(join(dir, "postmortem.md"));
    expect(readFileSync(written.htmlPath, "utf8")).toContain("<html");
    for (const p of written.assetPaths) expect(existsSync(p), p).toBe(true);
    expect(readdirSync(dir).filter((f) => f.includes(".tmp-"))).toEqual([]);
  });
});
