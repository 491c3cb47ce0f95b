import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { labDown, labLoad, labUp, probeHealth } from "../../lab/index.js";
import { isAlive } from "../../lab/process.js";
import { incidentIdFrom, REPO, runCli, waitFor } from "../support/cli.js";

/**
 * process-down with its reason and disk-full against the real lab, each reproduced for real: a kernel OOM
 * kill in a memory cgroup, a JVM crash writing hs_err_pid*.log, a full tmpfs. Diagnosed with the
 * runbook's defaults (no threshold, idle or log-path option), then `run` against the lab. Ports 20401-20403.
 */
const ports: number[] = [];
afterAll(async () => {
  for (const port of ports) await labDown({ port });
}, 60_000);

interface DiagnoseJson {
  rootCause: { id: string; summary: string };
  findings: Array<{ id: string; variant: string; caveats: string[] }>;
  ruledOut: Array<{ id: string }>;
  evidence: {
    exit?: {
      status: string;
      data?: {
        oomKill: { pid: number; constraint: string; limitKb: number | null } | null;
        crash: { pid: number | null; path: string; error: string | null } | null;
      };
    };
    disk?: {
      status: string;
      data?: {
        filesystems: Array<{ role: string; mount: string; usedPercent: number }>;
        topUsers: Array<{ path: string }>;
      };
    };
  };
}

async function diagnose(port: number): Promise<DiagnoseJson> {
  const r = await runCli(["diagnose", "--port", String(port), "--output", "json"], { timeoutMs: 90_000 });
  if (r.code !== 0) throw new Error(`diagnose exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as DiagnoseJson;
}

async function until(what: string, pid: number) {
  await waitFor(what, () => !isAlive(pid), { timeoutMs: 60_000 });
}

describe("process-down with its reason, against the lab", () => {
  it("a JVM in a memory cgroup smaller than its heap: the kernel's OOM kill, then a run that escalates with the memory follow-up", async () => {
    const port = 20401;
    ports.push(port);
    const lab = await labUp({ mode: "process-oom-killed", port });
    const load = await labLoad({ port });
    expect(load.stoppedReason).toBe("server-stopped-accepting");
    await until("the OOM-killed JVM gone", lab.pid);

    const d = await diagnose(port);
    expect(d.rootCause.id).toBe("process-down");
    expect(d.findings[0]?.variant).toBe("oom-killed");
    expect(d.evidence.exit?.data?.oomKill).toMatchObject({
      pid: lab.pid,
      constraint: "memcg",
      limitKb: 192 * 1024,
    });
    expect(d.rootCause.summary).toMatch(/did not fit in 192 MB/);
    expect(d.ruledOut.map((r) => r.id)).toEqual(expect.arrayContaining(["disk-full", "load-balancer-path"]));

    // No restart method: the restart rung is blocked, the run escalates; the postmortem's first follow-up
    // is the JVM's memory against the limit.
    const out = mkdtempSync(join(tmpdir(), "h13d-oom-"));
    const r = await runCli(
      ["run", "api-unreachable", "--port", String(port), "--mode", "auto", "--out", out],
      {
        timeoutMs: 120_000,
      },
    );
    expect(r.code).toBe(4);
    const pm = readFileSync(join(out, incidentIdFrom(r.stderr), "postmortem.md"), "utf8");
    expect(pm).toContain("Fit the JVM's memory in what the host or container allows");
  }, 240_000);

  it("a JVM that crashes on OutOfMemoryError: the hs_err file in /tmp names the reason", async () => {
    const port = 20402;
    ports.push(port);
    const lab = await labUp({ mode: "process-crashed", port });
    await labLoad({ port });
    await until("the crashed JVM gone", lab.pid);
    expect(existsSync(`/tmp/hs_err_pid${lab.pid}.log`)).toBe(true);

    const d = await diagnose(port);
    expect(d.rootCause.id).toBe("process-down");
    expect(d.findings[0]?.variant).toBe("crashed");
    expect(d.evidence.exit?.data?.crash).toMatchObject({
      pid: lab.pid,
      path: `/tmp/hs_err_pid${lab.pid}.log`,
    });
    expect(d.evidence.exit?.data?.crash?.error).toMatch(/OutOfMemory/);
  }, 240_000);
});

describe("disk-full against the lab", () => {
  it("rolled request logs fill the log filesystem: diagnosed on df, and the opt-in ladder deletes rotated logs only", async () => {
    const port = 20403;
    ports.push(port);
    const lab = await labUp({ mode: "disk-full", port });
    const load = await labLoad({ port });
    expect(load.stoppedReason).toBe("server-errors");
    expect((await probeHealth(port, 3000)).status).toBe(503);
    const logs = join(lab.labDir, "logs");

    const d = await diagnose(port);
    expect(d.rootCause.id).toBe("disk-full");
    expect(d.findings[0]?.variant).toBe("filesystem-full");
    const fs = d.evidence.disk?.data?.filesystems.find((f) => f.role === "log");
    expect(fs).toMatchObject({ mount: logs });
    expect(fs?.usedPercent).toBeGreaterThanOrEqual(97);
    expect(d.evidence.disk?.data?.topUsers.some((u) => /requests\.log\.\d+$/.test(u.path))).toBe(true);
    expect(d.ruledOut.map((r) => r.id)).toEqual(expect.arrayContaining(["process-down", "file-handle-leak"]));

    const rotated = () => readdirSync(logs).filter((f) => /^requests\.log\.\d+$/.test(f));
    expect(rotated().length).toBeGreaterThan(10);
    // The shipped ladder only escalates (test/unit/workflows/disk-full-ladder.test.ts); the opt-in override
    // puts delete-rotated-logs first.
    const out = mkdtempSync(join(tmpdir(), "h13d-disk-"));
    const override = join(REPO, "docs/examples/disk-full-delete-rotated-logs.yaml");
    const r = await runCli(
      [
        "run",
        "api-unreachable",
        "--port",
        String(port),
        "--mode",
        "auto",
        "--out",
        out,
        "--runbook",
        override,
      ],
      { timeoutMs: 120_000 },
    );
    expect(r.code).toBe(0);
    const record = JSON.parse(readFileSync(join(out, incidentIdFrom(r.stderr), "incident.json"), "utf8")) as {
      status: string;
      actions: Array<{ action: string; status: string }>;
    };
    expect(record.status).toBe("recovered");
    expect(record.actions[0]).toMatchObject({ action: "delete-rotated-logs", status: "applied" });
    // The newest two rotated logs stay, and so do the live logs.
    expect(rotated()).toHaveLength(2);
    expect(existsSync(join(logs, "requests.log"))).toBe(true);
    expect(existsSync(join(logs, "app.log"))).toBe(true);
    expect((await probeHealth(port, 3000)).ok).toBe(true);
  }, 300_000);
});
