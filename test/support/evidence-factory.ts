import { type Evidence, type Exit, evidenceSchema } from "../../lambdas/core/evidence/schema.js";

/**
 * Builds valid Evidence documents for rule tests: named scenarios shaped like the lab's
 * captures, plus a patch hook for edge cases. Every result is checked against the schema.
 */
export const SCENARIOS = [
  "healthy",
  "ws-leak-at-limit",
  "ws-leak-attach-failed",
  "ws-leak-partial",
  "ws-leak-oom",
  "file-leak",
  "slow",
  "process-down",
  "process-oom-killed",
  "process-crashed",
  "disk-full",
] as const;
export type Scenario = (typeof SCENARIOS)[number];

type SectionName = Exclude<
  keyof Evidence,
  "schemaVersion" | "collectedAt" | "target" | "input" | "collector" | "health"
>;

const PORT = 8080;
const ATTACH_FAILED =
  "jcmd: Unable to open socket file /tmp/.java_pid4242: target process 4242 doesn't respond within 10500ms or HotSpot VM not loaded";

function idleHistogram(counts: [number, number, number, number, number, number]) {
  const b = [
    ["<1s", 0, 1000],
    ["1-10s", 1000, 10_000],
    ["10-60s", 10_000, 60_000],
    ["1-5min", 60_000, 300_000],
    ["5-30min", 300_000, 1_800_000],
    [">=30min", 1_800_000, null],
  ] as const;
  return b.map(([label, minMs, maxMs], i) => ({ label, minMs, maxMs, count: counts[i] ?? 0 }));
}

function watched(ws: number, upgrade: number, fis: number) {
  return [
    { className: "org.apache.tomcat.websocket.WsSession", instances: ws, bytes: ws * 152 },
    {
      className: "org.apache.coyote.http11.upgrade.UpgradeProcessorInternal",
      instances: upgrade,
      bytes: upgrade * 24,
    },
    { className: "java.io.FileInputStream", instances: fis, bytes: fis * 24 },
  ];
}

/** A healthy Tomcat 10.1 host: fds low, a few keep-alive connections, idle request pool, health OK. */
function healthy(): Evidence {
  return {
    schemaVersion: 1,
    collectedAt: "2026-11-25T11:00:00.000Z",
    target: "local",
    input: { port: PORT, pid: null, healthPath: "/health", logPath: "/var/log/app/app.log" },
    collector: { version: "test", durationMs: 4200, timedOut: [], outputChars: 6000 },
    host: { status: "ok", data: { hostname: "api-1", kernel: "6.1.0", loadAverage1m: 0.3, cpuCount: 2 } },
    process: {
      status: "ok",
      data: {
        pid: 4242,
        user: "tomcat",
        uid: 998,
        cmdline: "java -Xmx512m -jar app.jar",
        isJava: true,
        uptimeSeconds: 86_400,
        cpuPercent: 3.5,
        pidSource: "listener",
        startTicks: 1_234_567,
        listenerRelation: "owner",
      },
    },
    listener: {
      status: "ok",
      data: { listening: true, address: "0.0.0.0:8080", acceptQueue: { current: 0, max: 100 } },
    },
    fds: {
      status: "ok",
      data: {
        open: 85,
        limitSoft: 1024,
        limitHard: 4096,
        byKind: { socket: 20, file: 50, pipe: 5, anonInode: 10, other: 0 },
        topFiles: [{ path: "/opt/app/app.jar", count: 2 }],
      },
    },
    sockets: {
      status: "ok",
      data: {
        port: PORT,
        total: 8,
        byState: { ESTAB: 6, "TIME-WAIT": 2 },
        established: 6,
        idle: {
          histogram: idleHistogram([4, 2, 0, 0, 0, 0]),
          overThreshold: 0,
          thresholdMs: 120_000,
          maxIdleMs: 4000,
        },
        sendQueueNonEmpty: 0,
        topPeers: [{ address: "10.0.1.10", count: 6 }],
      },
    },
    socketSummary: { status: "ok", data: { tcpTotal: 40, estab: 12, closed: 2, orphaned: 0, timewait: 2 } },
    fileNr: { status: "ok", data: { allocated: 2000, max: 1_048_576 } },
    classHistogram: {
      status: "ok",
      data: {
        tool: "jmap",
        command: "jmap -histo:live 4242",
        forcedFullGc: true,
        totalInstances: 900_000,
        totalBytes: 60_000_000,
        top: [{ rank: 1, instances: 200_000, bytes: 12_000_000, className: "[B", module: "java.base" }],
        watched: watched(2, 2, 3),
      },
    },
    threads: {
      status: "ok",
      data: {
        total: 40,
        byState: { RUNNABLE: 12, WAITING: 20, TIMED_WAITING: 8 },
        requestExecutor: { namePrefix: "http-nio-8080-exec-", total: 10, busy: 1, idle: 9 },
        inDatabaseCalls: 0,
        blockedOnMonitor: 0,
      },
    },
    heap: {
      status: "ok",
      data: {
        oldGenPercent: 32,
        edenPercent: 40,
        metaspacePercent: 95,
        youngGcCount: 120,
        fullGcCount: 0,
        fullGcTimeSeconds: 0,
        fullGcDuringSample: 0,
        sampleIntervalMs: 1000,
      },
    },
    health: {
      url: "http://127.0.0.1:8080/health",
      outcome: "ok",
      httpStatus: 200,
      latencyMs: 12,
      detail: null,
    },
    logs: {
      status: "ok",
      data: {
        path: "/var/log/app/app.log",
        linesScanned: 300,
        tooManyOpenFiles: 0,
        outOfMemoryError: 0,
        noSpaceLeft: 0,
        samples: [],
      },
    },
    tomcat: { status: "ok", data: { version: "10.1.28", source: "jar" } },
    disk: {
      status: "ok",
      data: {
        filesystems: [
          {
            role: "log",
            path: "/var/log/app",
            mount: "/",
            sizeKb: 8_123_456,
            availKb: 5_000_000,
            usedPercent: 39,
            inodesUsedPercent: 12,
          },
          {
            role: "tmp",
            path: "/tmp",
            mount: "/",
            sizeKb: 8_123_456,
            availKb: 5_000_000,
            usedPercent: 39,
            inodesUsedPercent: 12,
          },
        ],
        topUsers: [],
        duRoot: null,
        duTimedOut: false,
      },
    },
  };
}

type Patch = (e: Evidence) => void;

export function setUnavailable(e: Evidence, section: SectionName, reason: string): void {
  (e as Record<SectionName, unknown>)[section] = { status: "unavailable", reason };
}

/** Mutable access to an ok section's data (throws when the section is unavailable). */
export function data<K extends SectionName>(
  e: Evidence,
  section: K,
): Extract<Evidence[K], { status: "ok" }>["data"] {
  const s = e[section];
  if (s?.status !== "ok") throw new Error(`section ${section} is unavailable`);
  return s.data as Extract<Evidence[K], { status: "ok" }>["data"];
}

/** Fills the port with `n` leaked, idle WebSocket connections. */
function leakSockets(e: Evidence, n: number, opts: { idleMs: number; fdOpen: number }) {
  const s = data(e, "sockets");
  s.established = n + 3;
  s.total = n + 5;
  s.byState = { ESTAB: n + 3, "TIME-WAIT": 2 };
  const idleBucket = opts.idleMs >= 300_000 ? 4 : opts.idleMs >= 60_000 ? 3 : opts.idleMs >= 10_000 ? 2 : 1;
  const counts: [number, number, number, number, number, number] = [3, 0, 0, 0, 0, 0];
  counts[idleBucket] = n;
  s.idle = {
    histogram: idleHistogram(counts),
    overThreshold: opts.idleMs > s.idle.thresholdMs ? n : 0,
    thresholdMs: s.idle.thresholdMs,
    maxIdleMs: opts.idleMs,
  };
  s.topPeers = [{ address: "10.0.2.77", count: n }];
  const f = data(e, "fds");
  f.open = opts.fdOpen;
  f.byKind = { socket: opts.fdOpen - 65, file: 50, pipe: 5, anonInode: 10, other: 0 };
}

const PRESETS: Record<Scenario, Patch> = {
  healthy: () => {},
  "ws-leak-at-limit": (e) => {
    leakSockets(e, 1000, { idleMs: 900_000, fdOpen: 1024 });
    data(e, "classHistogram").watched = watched(1001, 1001, 3);
    data(e, "listener").acceptQueue = { current: 101, max: 100 };
    data(e, "logs").tooManyOpenFiles = 240;
    e.health = {
      ...e.health,
      outcome: "timeout",
      httpStatus: null,
      latencyMs: 5001,
      detail: "no bytes in 5 s",
    };
    data(e, "tomcat").version = "9.0.39";
  },
  "ws-leak-attach-failed": (e) => {
    PRESETS["ws-leak-at-limit"](e);
    setUnavailable(e, "classHistogram", ATTACH_FAILED);
    setUnavailable(e, "threads", ATTACH_FAILED);
  },
  "ws-leak-partial": (e) => {
    leakSockets(e, 300, { idleMs: 600_000, fdOpen: 380 });
    data(e, "fds").limitSoft = 4096;
    data(e, "classHistogram").watched = watched(301, 301, 3);
  },
  "ws-leak-oom": (e) => {
    // Small heap: the sessions' buffers fill it before the fds run out.
    leakSockets(e, 600, { idleMs: 400_000, fdOpen: 700 });
    setUnavailable(e, "classHistogram", "jmap timed out after 20 s (JVM in full GC)");
    setUnavailable(e, "threads", "jstack timed out after 20 s");
    Object.assign(data(e, "heap"), {
      oldGenPercent: 99.9,
      fullGcCount: 48,
      fullGcTimeSeconds: 61,
      fullGcDuringSample: 3,
    });
    data(e, "logs").outOfMemoryError = 14;
    e.health = { ...e.health, outcome: "timeout", httpStatus: null, latencyMs: 5001, detail: null };
  },
  "file-leak": (e) => {
    const f = data(e, "fds");
    f.open = 1024;
    f.byKind = { socket: 30, file: 975, pipe: 5, anonInode: 14, other: 0 };
    f.topFiles = [{ path: "/opt/app/data/report.csv", count: 960 }];
    data(e, "classHistogram").watched = watched(0, 0, 962);
    data(e, "logs").tooManyOpenFiles = 35;
    e.health = { ...e.health, outcome: "http-error", httpStatus: 500, latencyMs: 30, detail: "HTTP 500" };
  },
  slow: (e) => {
    const t = data(e, "threads");
    t.total = 230;
    t.requestExecutor = { namePrefix: "http-nio-8080-exec-", total: 200, busy: 200, idle: 0 };
    t.inDatabaseCalls = 196;
    const s = data(e, "sockets");
    s.established = 260;
    s.total = 262;
    s.byState = { ESTAB: 260, "TIME-WAIT": 2 };
    s.idle = {
      ...s.idle,
      histogram: idleHistogram([10, 60, 190, 0, 0, 0]),
      overThreshold: 0,
      maxIdleMs: 45_000,
    };
    const f = data(e, "fds");
    f.open = 340;
    f.byKind = { socket: 275, file: 50, pipe: 5, anonInode: 10, other: 0 };
    data(e, "listener").acceptQueue = { current: 12, max: 100 };
    e.health = { ...e.health, outcome: "timeout", httpStatus: null, latencyMs: 5001, detail: null };
  },
  "process-down": (e) => {
    const why = "no process listens on port 8080";
    data(e, "listener").listening = false;
    data(e, "listener").acceptQueue = null;
    data(e, "listener").address = null;
    for (const s of ["process", "fds", "classHistogram", "threads", "heap", "tomcat"] as const)
      setUnavailable(e, s, why);
    const s = data(e, "sockets");
    Object.assign(s, { total: 0, established: 0, byState: {}, topPeers: [] });
    s.idle = { ...s.idle, histogram: idleHistogram([0, 0, 0, 0, 0, 0]), overThreshold: 0, maxIdleMs: null };
    e.exit = { status: "ok", data: noExitTrace() };
    e.health = {
      ...e.health,
      outcome: "refused",
      httpStatus: null,
      latencyMs: 1,
      detail: "connection refused",
    };
  },
  // The kernel killed the JVM 40 s ago in a 192 MB memory cgroup (the lab's oom-kill mode); no unit given.
  "process-oom-killed": (e) => {
    PRESETS["process-down"](e);
    e.exit = { status: "ok", data: { ...noExitTrace(), oomKills: 1, oomKill: OOM_KILL } };
  },
  // The JVM wrote an hs_err file 20 s ago (-XX:+CrashOnOutOfMemoryError); no unit given.
  "process-crashed": (e) => {
    PRESETS["process-down"](e);
    e.exit = {
      status: "ok",
      data: {
        ...noExitTrace(),
        crash: {
          path: "/tmp/hs_err_pid4242.log",
          pid: 4242,
          ageSeconds: 20,
          error:
            "Internal Error (debug.cpp:271), pid=4242, tid=4260 fatal error: OutOfMemory encountered: Java heap space",
          frame: "V [libjvm.so+0x5b0f7e] report_java_out_of_memory(char const*)+0x8e",
        },
      },
    };
  },
  // The log filesystem is full: rolled request logs filled it; health answers 503 (disk-space indicator).
  "disk-full": (e) => {
    data(e, "disk").filesystems = [
      {
        role: "log",
        path: "/var/log/app",
        mount: "/var/log/app",
        sizeKb: 16_384,
        availKb: 0,
        usedPercent: 100,
        inodesUsedPercent: 1,
      },
      {
        role: "cwd",
        path: "/opt/app",
        mount: "/",
        sizeKb: 8_123_456,
        availKb: 5_000_000,
        usedPercent: 39,
        inodesUsedPercent: 12,
      },
      {
        role: "tmp",
        path: "/tmp",
        mount: "/",
        sizeKb: 8_123_456,
        availKb: 5_000_000,
        usedPercent: 39,
        inodesUsedPercent: 12,
      },
    ];
    Object.assign(data(e, "disk"), {
      duRoot: "/var/log/app",
      topUsers: [
        { path: "/var/log/app", kb: 16_380 },
        { path: "/var/log/app/requests.log.7", kb: 2_050 },
      ],
    });
    data(e, "logs").noSpaceLeft = 3;
    e.health = { ...e.health, outcome: "http-error", httpStatus: 503, latencyMs: 15, detail: "HTTP 503" };
  },
};

/** An exit section with no trace: no unit given, nothing in the kernel log, no crash file. */
export function noExitTrace(): Exit {
  return {
    unit: null,
    unitWhy: "no systemd unit given (--service): only systemd keeps a process's exit status",
    oomKill: null,
    oomKills: 0,
    kernelLogWhy: null,
    crash: null,
    searched: ["/tmp", "/var/tmp", "/"],
    memTotalKb: 24_683_548,
  };
}

export const OOM_KILL: NonNullable<Exit["oomKill"]> = {
  pid: 4242,
  ageSeconds: 40,
  constraint: "memcg",
  anonRssKb: 190_000,
  limitKb: 196_608,
  line: "[22712.1] Memory cgroup out of memory: Killed process 4242 (java) total-vm:2546872kB, anon-rss:190000kB, file-rss:17304kB",
};

/** A valid Evidence document for a scenario, optionally patched (edge cases). */
export function buildEvidence(scenario: Scenario = "healthy", patch?: Patch): Evidence {
  const e = healthy();
  PRESETS[scenario](e);
  patch?.(e);
  return evidenceSchema.parse(e);
}
