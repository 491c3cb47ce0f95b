import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { FolderArtifactStore } from "../../../lambdas/adapters/local/artifact-store.js";
import { LocalCommandRunner } from "../../../lambdas/adapters/local/command-runner.js";
import { FileIncidentStore } from "../../../lambdas/adapters/local/incident-store.js";
import { REPO, waitFor } from "../../support/cli.js";

const tmp = () => mkdtempSync(join(tmpdir(), "runbook-test-"));

describe("FolderArtifactStore", () => {
  it("writes the file and reports its real sha256", async () => {
    const root = tmp();
    const store = new FolderArtifactStore(root);
    const a = await store.put("inc-1/evidence/x.json", '{"a":1}', "application/json");
    const path = fileURLToPath(a.uri);
    expect(readFileSync(path, "utf8")).toBe('{"a":1}');
    expect(a.sha256).toBe(createHash("sha256").update('{"a":1}').digest("hex"));
    expect(a.bytes).toBe(7);
    expect(await store.get("inc-1/evidence/x.json")).toBe('{"a":1}');
    expect(await store.get("inc-1/none")).toBeNull();
  });

  it("refuses keys that leave the folder", async () => {
    const store = new FolderArtifactStore(tmp());
    await expect(store.put("../escape.txt", "x", "text/plain")).rejects.toThrow(/leaves the store/);
  });

  it("reads back by the file:// URI it gave, and refuses URIs outside its folder or of another scheme", async () => {
    const root = tmp();
    const store = new FolderArtifactStore(root);
    const a = await store.put("inc-1/out.txt", "whole output", "text/plain");
    expect(await store.getUri(a.uri)).toBe("whole output");
    await expect(store.getUri(pathToFileURL(join(tmp(), "x.txt")).href)).rejects.toThrow(/outside/);
    await expect(store.getUri("s3://bucket/key")).rejects.toThrow(/not a file:\/\/ URI/);
  });
});

describe("FileIncidentStore", () => {
  it("opens an incident once per dedupe key", async () => {
    const store = new FileIncidentStore(tmp());
    const first = await store.open("alarm-a@2026-11-25T10:00:00Z", "inc-1", "2026-11-25T10:00:01Z");
    const again = await store.open("alarm-a@2026-11-25T10:00:00Z", "inc-2", "2026-11-25T10:05:00Z");
    const other = await store.open("alarm-a@2026-11-25T11:00:00Z", "inc-3", "2026-11-25T11:00:01Z");
    expect(first).toEqual({ created: true, incidentId: "inc-1" });
    expect(again).toEqual({ created: false, incidentId: "inc-1" });
    expect(other.created).toBe(true);
  });

  it("saves and loads records", async () => {
    const store = new FileIncidentStore(tmp());
    await store.save("inc-9", { status: "running" });
    expect(await store.load("inc-9")).toEqual({ status: "running" });
    expect(await store.load("inc-none")).toBeNull();
  });

  it("holds a per-target lock until it expires, and lets its owner re-acquire", async () => {
    const store = new FileIncidentStore(tmp());
    const t0 = "2026-11-25T10:00:00.000Z";
    expect((await store.acquireTargetLock("local", "inc-1", t0, 60_000)).acquired).toBe(true);
    const blocked = await store.acquireTargetLock("local", "inc-2", "2026-11-25T10:00:30.000Z", 60_000);
    expect(blocked).toEqual({
      acquired: false,
      heldBy: "inc-1",
      until: "2026-11-25T10:01:00.000Z",
      inProgress: false,
    });
    expect(
      (await store.acquireTargetLock("local", "inc-1", "2026-11-25T10:00:30.000Z", 60_000)).acquired,
    ).toBe(true);
    expect((await store.acquireTargetLock("other", "inc-2", t0, 60_000)).acquired).toBe(true);
    expect(
      (await store.acquireTargetLock("local", "inc-2", "2026-11-25T10:02:00.000Z", 60_000)).acquired,
    ).toBe(true);
  });

  it("serialises concurrent lock attempts: exactly one wins", async () => {
    const store = new FileIncidentStore(tmp());
    const at = "2026-11-25T10:00:00.000Z";
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => store.acquireTargetLock("local", `inc-${i}`, at, 60_000)),
    );
    expect(results.filter((r) => r.acquired)).toHaveLength(1);
  });
});

describe("FileIncidentStore locks: atomic, stale ones broken with a note, concurrent runs never crash", () => {
  const at = "2026-11-25T10:00:00.000Z";
  const ttl = 60_000;
  const locks = (root: string) => join(root, ".locks");
  const writeLock = (root: string, body: string) => {
    mkdirSync(locks(root), { recursive: true });
    writeFileSync(join(locks(root), "local.g1.json"), body);
  };
  const lockOf = (owner: string, pid: number, until = "2026-11-25T10:01:00.000Z") =>
    JSON.stringify({ owner, pid, host: hostname(), acquiredAt: at, until });
  const deadPid = () => spawnSync("true").pid ?? 0;

  it("a leftover mutex or a lock file of an older version does not wedge the lock", async () => {
    const root = tmp();
    mkdirSync(join(locks(root), "local.json.mutex"), { recursive: true });
    writeFileSync(join(locks(root), "local.json"), '{"owner":"inc-old","until":"2099-01-01T00:00:00.000Z"}');
    const r = await new FileIncidentStore(root).acquireTargetLock("local", "inc-1", at, ttl);
    expect(r).toMatchObject({ acquired: true, heldBy: "inc-1" });
  });

  it("a torn lock file is broken and replaced whole, with a note", async () => {
    const root = tmp();
    writeLock(root, '{"owner":"inc-a","pid":12');
    const r = await new FileIncidentStore(root).acquireTargetLock("local", "inc-1", at, ttl);
    expect(r.acquired).toBe(true);
    expect(r.note).toMatch(/unreadable lock file/);
    const files = readdirSync(locks(root)).filter((f) => f.startsWith("local.g"));
    expect(files).toEqual(["local.g2.json"]);
    expect(JSON.parse(readFileSync(join(locks(root), "local.g2.json"), "utf8"))).toMatchObject({
      owner: "inc-1",
      pid: process.pid,
    });
  });

  it("a holder that died mid-run is stale (broken, with a note); one that finished keeps its cooldown", async () => {
    const root = tmp();
    const store = new FileIncidentStore(root);
    const dead = deadPid();
    writeLock(root, lockOf("inc-dead", dead));
    await store.save("inc-dead", { status: "running" });
    const broken = await store.acquireTargetLock("local", "inc-1", "2026-11-25T10:00:10.000Z", ttl);
    expect(broken.acquired).toBe(true);
    expect(broken.note).toMatch(
      new RegExp(`stale lock of inc-dead \\(its holder, PID ${dead}, is gone and its run never finished\\)`),
    );

    const root2 = tmp();
    const store2 = new FileIncidentStore(root2);
    writeLock(root2, lockOf("inc-done", dead));
    await store2.save("inc-done", { status: "recovered" });
    const cooldown = await store2.acquireTargetLock("local", "inc-1", "2026-11-25T10:00:10.000Z", ttl);
    expect(cooldown).toMatchObject({ acquired: false, heldBy: "inc-done", inProgress: false });
  });

  it("a live holder whose run is going reports in progress; a lock claiming beyond the cooldown is stale", async () => {
    const root = tmp();
    const store = new FileIncidentStore(root);
    writeLock(root, lockOf("inc-live", process.pid));
    await store.save("inc-live", { status: "running" });
    expect(await store.acquireTargetLock("local", "inc-1", "2026-11-25T10:00:10.000Z", ttl)).toMatchObject({
      acquired: false,
      heldBy: "inc-live",
      inProgress: true,
    });
    const root2 = tmp();
    writeLock(root2, lockOf("inc-far", process.pid, "2027-01-01T00:00:00.000Z"));
    const r = await new FileIncidentStore(root2).acquireTargetLock("local", "inc-1", at, ttl);
    expect(r.acquired).toBe(true);
    expect(r.note).toMatch(/beyond any cooldown/);
  });

  it("runs in separate processes racing for one lock: exactly one acquires, the others report in progress, none throws", async () => {
    const root = tmp();
    const go = join(root, "go");
    const n = 6;
    const worker = `
      import { existsSync } from "node:fs";
      import { FileIncidentStore } from ${JSON.stringify(join(REPO, "lambdas/adapters/local/incident-store.ts"))};
      const store = new FileIncidentStore(${JSON.stringify(root)});
      const owner = "inc-" + process.pid;
      await store.save(owner, { status: "running" });
      console.log("ready");
      while (!existsSync(${JSON.stringify(go)})) await new Promise((r) => setTimeout(r, 5));
      try {
        const r = await store.acquireTargetLock("local", owner, new Date().toISOString(), 60000);
        console.log("result=" + JSON.stringify(r));
      } catch (e) {
        console.log("threw=" + e.message);
      }
      setInterval(() => {}, 1000);
    `;
    const children = Array.from({ length: n }, () =>
      spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", worker], {
        cwd: REPO,
        stdio: ["ignore", "pipe", "inherit"],
      }),
    );
    const outputs = children.map(() => "");
    children.forEach((c, i) => {
      c.stdout?.on("data", (b: Buffer) => {
        outputs[i] += b.toString();
      });
    });
    try {
      await waitFor("every worker ready", () => outputs.every((o) => o.includes("ready")), {
        timeoutMs: 60_000,
      });
      writeFileSync(go, "");
      await waitFor("every worker's result", () => outputs.every((o) => /^(result|threw)=/m.test(o)), {
        timeoutMs: 60_000,
      });
    } finally {
      for (const c of children) c.kill("SIGKILL");
    }
    expect(outputs.filter((o) => o.includes("threw="))).toEqual([]);
    const results = outputs.map(
      (o) => JSON.parse(/^result=(.*)$/m.exec(o)?.[1] ?? "{}") as { acquired: boolean; inProgress?: boolean },
    );
    expect(results).toHaveLength(n);
    expect(results.filter((r) => r.acquired)).toHaveLength(1);
    expect(results.filter((r) => !r.acquired && r.inProgress)).toHaveLength(n - 1);
  }, 120_000);
});

describe("LocalCommandRunner", () => {
  const runner = new LocalCommandRunner();
  it("passes parameters as SSM_<name> environment variables, never spliced into the script", async () => {
    const r = await runner.run("local", {
      name: "t",
      scriptPath: "inline.sh",
      script: 'printf "%s" "$SSM_value"',
      parameters: { value: "$(touch /tmp/should-not-exist); `id`" },
      timeoutMs: 5_000,
    });
    expect(r.status).toBe("Success");
    expect(r.stdout).toBe("$(touch /tmp/should-not-exist); `id`");
  });

  it("reports failures and time-outs as results", async () => {
    const failed = await runner.run("local", {
      name: "t",
      scriptPath: "inline.sh",
      script: "echo oops >&2; exit 3",
      parameters: {},
      timeoutMs: 5_000,
    });
    expect(failed).toMatchObject({ status: "Failed", exitCode: 3 });
    expect(failed.stderr).toContain("oops");
    const slow = await runner.run("local", {
      name: "t",
      scriptPath: "inline.sh",
      script: "sleep 30",
      parameters: {},
      timeoutMs: 300,
    });
    expect(slow.status).toBe("TimedOut");
    expect(slow.durationMs).toBeLessThan(10_000);
    const elsewhere = await runner.run("ssm:i-0123456789abcdef0", {
      name: "t",
      scriptPath: "inline.sh",
      script: "true",
      parameters: {},
      timeoutMs: 1000,
    });
    expect(elsewhere.status).toBe("Undeliverable");
  });

  it("can cut stdout like SSM", async () => {
    const cut = new LocalCommandRunner({ mimicSsmCut: true });
    const r = await cut.run("local", {
      name: "t",
      scriptPath: "inline.sh",
      script: "head -c 30000 /dev/zero | tr '\\0' x",
      parameters: {},
      timeoutMs: 5_000,
    });
    expect(r.stdout).toHaveLength(24_000);
    expect(r.stdoutTruncated).toBe(true);
  });
});
