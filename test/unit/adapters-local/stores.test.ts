import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { FolderArtifactStore } from "../../../lambdas/adapters/local/artifact-store.js";
import { LocalCommandRunner } from "../../../lambdas/adapters/local/command-runner.js";
import { FileIncidentStore } from "../../../lambdas/adapters/local/incident-store.js";

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
    expect(blocked).toEqual({ acquired: false, heldBy: "inc-1", until: "2026-11-25T10:01:00.000Z" });
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

describe("LocalCommandRunner", () => {
  const runner = new LocalCommandRunner();
  it("passes parameters as SSM_<name> environment variables, never spliced into the script", async () => {
    const r = await runner.run("local", {
      name: "t",
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
      script: "echo oops >&2; exit 3",
      parameters: {},
      timeoutMs: 5_000,
    });
    expect(failed).toMatchObject({ status: "Failed", exitCode: 3 });
    expect(failed.stderr).toContain("oops");
    const slow = await runner.run("local", { name: "t", script: "sleep 30", parameters: {}, timeoutMs: 300 });
    expect(slow.status).toBe("TimedOut");
    expect(slow.durationMs).toBeLessThan(10_000);
    const elsewhere = await runner.run("ssm:i-0123456789abcdef0", {
      name: "t",
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
      script: "head -c 30000 /dev/zero | tr '\\0' x",
      parameters: {},
      timeoutMs: 5_000,
    });
    expect(r.stdout).toHaveLength(24_000);
    expect(r.stdoutTruncated).toBe(true);
  });
});
