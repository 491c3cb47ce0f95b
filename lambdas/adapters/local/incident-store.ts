import { createHash, randomBytes } from "node:crypto";
import { link, mkdir, open, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, join, resolve } from "node:path";
import * as z from "zod";
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

  /**
   * Per-target lock that doubles as the mitigation cooldown, without a mutex that can be left behind:
   * generations `<target>.g<N>.json`, each published whole by `link` of a fully written temp file
   * (so no reader sees a torn lock), and only one process can create generation N+1 (link fails
   * with EEXIST for the others). The current lock is the highest generation. It is taken over when
   * it has expired, or when it is stale: unreadable, its holder's process is gone while its record
   * still says running, or it claims more than the cooldown plus a margin. A stale lock broken this
   * way is reported in `note`, which the workflow writes into the record.
   */
  async acquireTargetLock(target: string, owner: string, nowIso: string, ttlMs: number): Promise<LockResult> {
    const dir = join(this.root, ".locks");
    await mkdir(dir, { recursive: true });
    const now = Date.parse(nowIso);
    for (let attempt = 0; attempt < 5; attempt++) {
      const { generation, lock, file } = await this.currentLock(dir, target);
      let note: string | null = null;
      if (file && !lock) {
        note = `broke an unreadable lock file (${basename(file)}): it was replaced`;
      } else if (lock && lock.owner !== owner) {
        const stale = await this.staleReason(lock, now, ttlMs);
        if (!stale && Date.parse(lock.until) > now) {
          return {
            acquired: false,
            heldBy: lock.owner,
            until: lock.until,
            inProgress: (await this.holderRunning(lock)) === true,
          };
        }
        if (stale) note = `broke a stale lock of ${lock.owner} (${stale})`;
      } else if (lock && lock.owner === owner) {
        return { acquired: true, heldBy: owner, until: lock.until, note: null };
      }
      const until = new Date(now + ttlMs).toISOString();
      const mine: LockFile = { owner, pid: process.pid, host: hostname(), acquiredAt: nowIso, until };
      if (await publishOnce(join(dir, `${safeName(target)}.g${generation + 1}.json`), mine)) {
        if (file) await rm(file, { force: true }).catch(() => undefined);
        return { acquired: true, heldBy: owner, until, note };
      }
      // Another run created the next generation first: look again (it is now the current lock).
    }
    const { lock } = await this.currentLock(dir, target);
    return {
      acquired: false,
      heldBy: lock?.owner ?? "unknown",
      until: lock?.until ?? null,
      inProgress: true,
    };
  }

  async releaseTargetLock(target: string, owner: string): Promise<void> {
    const dir = join(this.root, ".locks");
    const { generation, lock } = await this.currentLock(dir, target);
    if (lock?.owner !== owner) return;
    const ended = { ...lock, until: new Date(0).toISOString() };
    await publishOnce(join(dir, `${safeName(target)}.g${generation + 1}.json`), ended);
  }

  private async currentLock(
    dir: string,
    target: string,
  ): Promise<{ generation: number; file: string | null; lock: LockFile | null }> {
    const prefix = `${safeName(target)}.g`;
    let generation = 0;
    for (const name of await readdir(dir)) {
      const m = name.startsWith(prefix) ? /^(\d+)\.json$/.exec(name.slice(prefix.length)) : null;
      if (m) generation = Math.max(generation, Number(m[1]));
    }
    if (generation === 0) return { generation, file: null, lock: null };
    const file = join(dir, `${prefix}${generation}.json`);
    let lock: LockFile | null = null;
    try {
      const parsed = lockFileSchema.safeParse(JSON.parse(await readFile(file, "utf8")));
      lock = parsed.success ? parsed.data : null;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return this.currentLock(dir, target);
    }
    return { generation, file, lock };
  }

  /** Whether the holder's run is still going: false when its process is gone (this host only). */
  private async holderRunning(lock: LockFile): Promise<boolean | null> {
    if (lock.host !== hostname()) return null;
    if (!processAlive(lock.pid)) return false;
    const record = (await this.load(lock.owner).catch(() => null)) as { status?: string } | null;
    return record?.status === "running";
  }

  private async staleReason(lock: LockFile, now: number, ttlMs: number): Promise<string | null> {
    const acquired = Date.parse(lock.acquiredAt);
    const until = Date.parse(lock.until);
    if (Number.isNaN(acquired) || Number.isNaN(until)) return "its times are not readable";
    if (now - acquired > ttlMs + STALE_MARGIN_MS && until > now) {
      return `acquired at ${lock.acquiredAt}, longer ago than the cooldown plus ${STALE_MARGIN_MS / 1000}s`;
    }
    if (until - now > ttlMs + STALE_MARGIN_MS)
      return `it claims the target until ${lock.until}, beyond any cooldown`;
    if (lock.host === hostname() && !processAlive(lock.pid)) {
      const record = (await this.load(lock.owner).catch(() => null)) as { status?: string } | null;
      if (!record || record.status === "running") {
        return `its holder, PID ${lock.pid}, is gone and its run never finished`;
      }
    }
    return null;
  }
}

/** How far beyond the cooldown a lock may claim before it is treated as stale. */
const STALE_MARGIN_MS = 60_000;

const lockFileSchema = z.object({
  owner: z.string().min(1),
  pid: z.number().int().positive(),
  host: z.string(),
  acquiredAt: z.string(),
  until: z.string(),
});
type LockFile = z.infer<typeof lockFileSchema>;

/** Writes a temp file, then links it to `file`: all or nothing, and only if `file` does not exist yet. */
async function publishOnce(file: string, body: unknown): Promise<boolean> {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  await writeFile(tmp, JSON.stringify(body), { flag: "wx" });
  try {
    await link(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  } finally {
    await rm(tmp, { force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

const hash = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 32);
const safeName = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, "_");
