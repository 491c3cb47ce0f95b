import { describe, expect, it } from "vitest";
import type { Evidence } from "../../../lambdas/core/evidence/schema.js";
import { diagnose } from "../../../lambdas/core/rules/engine.js";
import {
  buildEvidence,
  data,
  noExitTrace,
  OOM_KILL,
  setUnavailable,
} from "../../support/evidence-factory.js";
import { D, describeMatrix, type Expect, H, N, R, shippedRunbook } from "./helpers.js";

/**
 * The compliance matrix of the process-down reasons and disk-full (issue 13, points 5 and 6): every rule
 * of the shipped runbook against each of their evidence cases, so each other class's hypothesis is ruled
 * in or out on this evidence (and disk-full in every other class's case: matrix.test.ts).
 */
const runbook = shippedRunbook();

const unit = (code: string, status: number, ageSeconds = 30) => ({
  name: "orders-api.service",
  activeState: "failed",
  result: code === "exited" ? "exit-code" : "signal",
  code,
  status,
  mainPid: 4242,
  ageSeconds,
  workingDirectory: "/opt/orders",
});

const CASES = {
  "oom-killed": buildEvidence("process-oom-killed"),
  crashed: buildEvidence("process-crashed"),
  // systemd knows the unit: it exited with status 1 (a start-up error) and nothing restarted it.
  "unit-exited": buildEvidence("process-down", (e) => {
    e.exit = { status: "ok", data: { ...noExitTrace(), unit: unit("exited", 1), unitWhy: null } };
  }),
  // systemd: killed by SIGKILL, and the kernel log names that very PID: the OOM killer, confirmed.
  "unit-oom-confirmed": buildEvidence("process-down", (e) => {
    e.exit = {
      status: "ok",
      data: { ...noExitTrace(), unit: unit("killed", 9, 42), unitWhy: null, oomKills: 1, oomKill: OOM_KILL },
    };
  }),
  // systemd: killed by SIGTERM; an older OOM kill of another java PID on the host explains nothing.
  "unit-killed": buildEvidence("process-down", (e) => {
    e.exit = {
      status: "ok",
      data: {
        ...noExitTrace(),
        unit: unit("killed", 15, 25),
        unitWhy: null,
        oomKills: 1,
        oomKill: { ...OOM_KILL, pid: 999, ageSeconds: 10 },
      },
    };
  }),
  // The only trace is an OOM kill two hours ago: older than exitTraceMaxAgeSeconds, so the reason is unknown.
  "old-trace": buildEvidence("process-down", (e) => {
    e.exit = {
      status: "ok",
      data: { ...noExitTrace(), oomKills: 3, oomKill: { ...OOM_KILL, ageSeconds: 7200 } },
    };
  }),
  // Down, and the kernel log could not be read (dmesg restricted, no journal): the reason is unknown.
  "no-kernel-log": buildEvidence("process-down", (e) => {
    e.exit = {
      status: "ok",
      data: {
        ...noExitTrace(),
        kernelLogWhy: "cannot read the kernel log: dmesg: read kernel buffer failed: Operation not permitted",
      },
    };
  }),
  "disk-full": buildEvidence("disk-full"),
  // Out of inodes: df shows blocks free, inodes at 100 %.
  "disk-inodes": buildEvidence("disk-full", (e) => {
    const log = data(e, "disk").filesystems[0];
    if (log) Object.assign(log, { usedPercent: 41, availKb: 9_000, inodesUsedPercent: 100 });
  }),
  // ENOSPC in the log while the filesystems checked have room (another filesystem filled, or was freed).
  "enospc-in-log": buildEvidence("healthy", (e) => {
    data(e, "logs").noSpaceLeft = 12;
    e.health = { ...e.health, outcome: "http-error", httpStatus: 500, latencyMs: 20, detail: "HTTP 500" };
  }),
  // A full disk seen without the log (no log found): df alone decides.
  "disk-full-no-log": buildEvidence("disk-full", (e) => setUnavailable(e, "logs", "no log path given")),
} satisfies Record<string, Evidence>;
type CaseName = keyof typeof CASES;

const COLUMNS: CaseName[] = [
  "oom-killed",
  "crashed",
  "unit-exited",
  "unit-oom-confirmed",
  "unit-killed",
  "old-trace",
  "no-kernel-log",
  "disk-full",
  "disk-inodes",
  "enospc-in-log",
  "disk-full-no-log",
];

// biome-ignore format: the matrix is a table
const MATRIX: Record<string, Expect[]> = {
  //                         oom  crsh uext uoom ukil old  nklg disk inod nosp dnlg
  "websocket-session-leak": [R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R],
  "file-handle-leak":       [N,   N,   N,   N,   N,   N,   N,   R,   R,   R,   R],
  "thread-pool-exhaustion": [D,   D,   D,   D,   D,   D,   D,   R,   R,   R,   R],
  "process-down":           [H,   H,   H,   H,   H,   H,   H,   R,   R,   R,   R],
  "disk-full":              [R,   R,   R,   R,   R,   R,   R,   H,   H,   H,   H],
  "fd-exhaustion":          [N,   N,   N,   N,   N,   N,   N,   R,   R,   R,   N],
  "heap-exhaustion":        [N,   N,   N,   N,   N,   N,   N,   R,   R,   R,   R],
  "load-balancer-path":     [R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R],
  "slow-database":          [N,   N,   N,   N,   N,   N,   N,   R,   R,   R,   R],
  "cpu-saturation":         [N,   N,   N,   N,   N,   N,   N,   R,   R,   R,   R],
  "framework-version":      [N,   N,   N,   N,   N,   N,   N,   R,   R,   R,   R],
  "connection-pool-exhaustion": [N, N, N, N, N, N, N, R, R, R, R],
  "close-wait-leak": [R, R, R, R, R, R, R, R, R, R, R],
  "listen-backlog-overflow": [R, R, R, R, R, R, R, R, R, R, R],
  "ephemeral-port-exhaustion": [R, R, R, R, R, R, R, R, R, R, R],
  "time-wait-flood": [R, R, R, R, R, R, R, R, R, R, R],
  "conntrack-table-full": [R, R, R, R, R, R, R, R, R, R, R],
};

/** The root cause, and the variant that holds for it (the case's own class). */
const ROOT_CAUSE: Record<CaseName, [string, string]> = {
  "oom-killed": ["process-down", "oom-killed"],
  crashed: ["process-down", "crashed"],
  "unit-exited": ["process-down", "exited"],
  "unit-oom-confirmed": ["process-down", "oom-killed"],
  "unit-killed": ["process-down", "killed"],
  "old-trace": ["process-down", "no-listener"],
  "no-kernel-log": ["process-down", "no-listener"],
  "disk-full": ["disk-full", "filesystem-full"],
  "disk-inodes": ["disk-full", "filesystem-full"],
  "enospc-in-log": ["disk-full", "enospc-in-log"],
  "disk-full-no-log": ["disk-full", "filesystem-full"],
};

describe("compliance matrix: process-down reasons and disk-full × every rule", () => {
  describeMatrix({
    runbook,
    cases: CASES,
    columns: COLUMNS,
    matrix: MATRIX,
    // The cells assert the outcome only; the variant is asserted on the root cause (ROOT_CAUSE).
    variant: () => undefined,
    rootCause: ROOT_CAUSE,
  });
});

describe("what the findings say", () => {
  const finding = (c: CaseName) => diagnose(CASES[c], runbook).findings[0];

  it("an OOM kill: the kernel's trace, resident memory against the cgroup's limit, tied by time only", () => {
    const f = finding("oom-killed");
    expect(f?.summary).toContain(
      "the kernel's OOM killer killed java pid 4242 40.0 s ago at 186 MB resident",
    );
    expect(f?.summary).toContain("(memory cgroup limit 192 MB)");
    expect(f?.summary).toContain("did not fit in 192 MB");
    expect(f?.caveats.join(" ")).toMatch(/tied to this service by time alone/);
  });

  it("an OOM kill of the unit's own PID needs no caveat", () => {
    expect(finding("unit-oom-confirmed")?.caveats.join(" ")).not.toMatch(/by time alone/);
  });

  it("a crash names the file, its error and its frame", () => {
    const f = finding("crashed");
    expect(f?.summary).toContain("/tmp/hs_err_pid4242.log: Internal Error (debug.cpp:271)");
    expect(f?.summary).toContain("problematic frame V [libjvm.so+0x5b0f7e]");
  });

  it("systemd's record: exit status, or the signal", () => {
    expect(finding("unit-exited")?.summary).toContain(
      "systemd: orders-api.service main process 4242 exited with status 1 30.0 s ago (result exit-code)",
    );
    expect(finding("unit-killed")?.summary).toContain("was killed by signal 15");
  });

  it("no reason: says what was looked at and why it explains nothing", () => {
    expect(finding("old-trace")?.summary).toContain(
      "Why it exited is unknown: no systemd unit given (--service): only systemd keeps a process's exit status; the newest OOM kill of a java process was 2.0 h ago (pid 4242); no hs_err_pid*.log in /tmp, /var/tmp, /",
    );
    expect(finding("no-kernel-log")?.summary).toContain(
      "cannot read the kernel log: dmesg: read kernel buffer failed",
    );
  });

  it("a full disk: the filesystem, its use and the top space users below the mount", () => {
    const f = finding("disk-full");
    expect(f?.summary).toContain("The log filesystem /var/log/app is full (100% used, 0 MB free)");
    expect(f?.summary).toContain("Top space users: /var/log/app/requests.log.7 2 MB.");
    expect(finding("disk-inodes")?.summary).toContain("is full (100% used, 8 MB free)");
  });
});
