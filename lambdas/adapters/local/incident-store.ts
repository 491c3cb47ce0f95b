import { createHash } from "node:crypto";
import { mkdir, open, readFile, rename, rmdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { IncidentStore, LockResult } from "../../ports/index.js";

/**
 * Incidents as folders: `<root>/<incident-id>/incident.json`. Dedupe markers and per-target
 * locks (which double as the mitigation cooldown) live in `<root>/.dedupe` and `<root>/.locks`.
 */
export class FileIncidentStore implements IncidentStore {
  private readonly root: string;
  constructor(root: string) {
    this.root = resolve(root);
  }

  incidentDir(incidentId: string): string {
    return join(this.root, safeName(incidentId));
  }

  async open(dedupeKey: string, incidentId: string, at: string) {
    const dir = join(this.root, ".dedupe");
    await mkdir(dir, { recursive: true });
    const marker = join(dir, hash(dedupeKey));
    try {
      const fh = await open(marker, "wx");
      await fh.writeFile(JSON.stringify({ dedupeKey, incidentId, at }));
      await fh.close();
      return { created: true, incidentId };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const existing = JSON.parse(await readFile(marker, "utf8")) as { incidentId: string };
      return { created: false, incidentId: existing.incidentId };
    }
  }

  async save(incidentId: string, record: unknown): Promise<void> {
    const dir = this.incidentDir(incidentId);
    await mkdir(dir, { recursive: true });
    const path = join(dir, "incident.json");
    const tmp = `${path}.tmp-${process.pid}`;
    await writeFile(tmp, `${JSON.stringify(record, null, 2)}\n`);
    await rename(tmp, path);
  }

  async load(incidentId: string): Promise<unknown | null> {
    try {
      return JSON.parse(await readFile(join(this.incidentDir(incidentId), "incident.json"), "utf8"));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw e;
    }
  }

  async acquireTargetLock(target: string, owner: string, nowIso: string, ttlMs: number): Promise<LockResult> {
    const dir = join(this.root, ".locks");
    await mkdir(dir, { recursive: true });
    const file = join(dir, `${safeName(target)}.json`);
    return await this.withMutex(file, async () => {
      const current = await readJson<{ owner: string; until: string }>(file);
      const now = Date.parse(nowIso);
      if (current && current.owner !== owner && Date.parse(current.until) > now) {
        return { acquired: false, heldBy: current.owner, until: current.until };
      }
      const until = new Date(now + ttlMs).toISOString();
      await writeFile(file, JSON.stringify({ owner, until }));
      return { acquired: true, heldBy: owner, until };
    });
  }

  async releaseTargetLock(target: string, owner: string): Promise<void> {
    const file = join(this.root, ".locks", `${safeName(target)}.json`);
    await this.withMutex(file, async () => {
      const current = await readJson<{ owner: string }>(file);
      if (current?.owner === owner)
        await writeFile(file, JSON.stringify({ owner, until: new Date(0).toISOString() }));
    });
  }

  /** mkdir is atomic: a bounded spin on `<file>.mutex` serialises read-modify-write across processes. */
  private async withMutex<T>(file: string, fn: () => Promise<T>): Promise<T> {
    const mutex = `${file}.mutex`;
    for (let i = 0; ; i++) {
      try {
        await mkdir(mutex);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST" || i >= 200) throw e;
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    try {
      return await fn();
    } finally {
      await rmdir(mutex).catch(() => undefined);
    }
  }
}

async function readJson<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
}

const hash = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 32);
const safeName = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, "_");
