import { type Disk, type Evidence, type Exit, evidenceSchema } from "../../lambdas/core/evidence/schema.js";

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
  "close-wait-outbound",
  "close-wait-app-port",
  "listen-backlog",
  "outbound-exhausted",
  "pool-leak",
  "pool-slow-db",
  "jetty-ws-leak",
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

type Filesystem = Disk["filesystems"][number];

/** A filesystem row of the disk section: by default on a roomy root filesystem (39% used). */
function filesystem(role: Filesystem["role"], path: string, overrides: Partial<Filesystem> = {}): Filesystem {
  return {
    role,
    path,
    mount: "/",
    sizeKb: 8_123_456,
    availKb: 5_000_000,
    usedPercent: 39,
    inodesUsedPercent: 12,
    ...overrides,
  };
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
        waitingForDbConnection: 0,
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
        connectionNotAvailable: 0,
        noSpaceLeft: 0,
        samples: [],
      },
    },
    tomcat: { status: "ok", data: { version: "10.1.28", source: "jar" } },
    network: {
      status: "ok",
      data: {
        owned: {
          total: 12,
          byState: { ESTAB: 12 },
          closeWaitAppPort: 0,
          closeWaitOutbound: 0,
          closeWaitPeers: [],
          closeWaitLocalPorts: [],
        },
        listenDrops: {
          overflowsBefore: 20,
          overflowsAfter: 20,
          dropsBefore: 20,
          dropsAfter: 20,
          intervalMs: 1000,
        },
        ephemeral: {
          low: 32768,
          high: 60999,
          inUse: 14,
          topDestination: { address: "10.0.3.5:5432", count: 10 },
        },
        timeWait: { total: 2, ephemeral: 0 },
        conntrack: { loaded: false, count: null, max: null, tableFullLines: 0 },
      },
    },
    disk: {
      status: "ok",
      data: {
        filesystems: [filesystem("log", "/var/log/app"), filesystem("tmp", "/tmp")],
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
  // HikariCP's ten connections leaked: threads wait in getConnection, none is inside a query.
  "pool-leak": (e) => poolExhausted(e, 0, 58),
  // The database answers slowly: ten threads inside queries hold the connections, the others wait.
  "pool-slow-db": (e) => poolExhausted(e, 10, 50),
  // Jetty 9.4: vanished WebSocket clients, counted as Jetty's session class; no Tomcat in the process.
  "jetty-ws-leak": (e) => {
    leakSockets(e, 300, { idleMs: 600_000, fdOpen: 380 });
    data(e, "fds").limitSoft = 4096;
    const h = data(e, "classHistogram");
    h.watched = [
      ...watched(0, 0, 3),
      { className: "org.eclipse.jetty.websocket.common.WebSocketSession", instances: 300, bytes: 300 * 112 },
    ];
    h.sessionClasses = [
      "org.apache.tomcat.websocket.WsSession",
      "org.eclipse.jetty.websocket.common.WebSocketSession",
    ];
    // Jetty's request threads are qtp*, not *-exec-N: no request executor is recognised.
    data(e, "threads").requestExecutor = { namePrefix: null, total: 0, busy: 0, idle: 0 };
    setUnavailable(e, "tomcat", "no Tomcat jar found among the process's open files or command line");
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
    data(e, "network").owned = null;
  },
  // Upstream responses never closed: outbound CLOSE-WAIT fills the fds; at the limit the JVM cannot be attached.
  "close-wait-outbound": (e) => {
    const f = data(e, "fds");
    f.open = 1024;
    f.byKind = { socket: 990, file: 20, pipe: 4, anonInode: 10, other: 0 };
    const n = data(e, "network");
    n.owned = {
      total: 985,
      byState: { ESTAB: 8, "CLOSE-WAIT": 977 },
      closeWaitAppPort: 0,
      closeWaitOutbound: 977,
      closeWaitPeers: [{ address: "10.0.4.20:8443", count: 977 }],
      closeWaitLocalPorts: [{ port: 41_022, count: 1 }],
    };
    setUnavailable(e, "classHistogram", ATTACH_FAILED);
    setUnavailable(e, "threads", ATTACH_FAILED);
    data(e, "logs").tooManyOpenFiles = 12;
    e.health = { ...e.health, outcome: "http-error", httpStatus: 500, latencyMs: 20, detail: "HTTP 500" };
  },
  // Clients' closed connections never closed by the app on its own port (threads free): a CLOSE-WAIT leak.
  "close-wait-app-port": (e) => {
    const f = data(e, "fds");
    f.open = 700;
    f.byKind = { socket: 630, file: 50, pipe: 5, anonInode: 15, other: 0 };
    const s = data(e, "sockets");
    Object.assign(s, {
      total: 612,
      established: 10,
      byState: { ESTAB: 10, "CLOSE-WAIT": 600, "TIME-WAIT": 2 },
    });
    data(e, "network").owned = {
      total: 610,
      byState: { ESTAB: 10, "CLOSE-WAIT": 600 },
      closeWaitAppPort: 600,
      closeWaitOutbound: 0,
      closeWaitPeers: [],
      closeWaitLocalPorts: [{ port: PORT, count: 600 }],
    };
    e.health = { ...e.health, outcome: "timeout", httpStatus: null, latencyMs: 5001, detail: null };
  },
  // The acceptor stopped: the accept queue is full and the kernel drops connections; threads and fds fine.
  "listen-backlog": (e) => {
    data(e, "listener").acceptQueue = { current: 101, max: 100 };
    const s = data(e, "sockets");
    Object.assign(s, {
      total: 160,
      established: 120,
      byState: { ESTAB: 120, "CLOSE-WAIT": 38, "SYN-RECV": 2 },
    });
    data(e, "network").listenDrops = {
      overflowsBefore: 4100,
      overflowsAfter: 4133,
      dropsBefore: 4100,
      dropsAfter: 4133,
      intervalMs: 1020,
    };
    e.health = { ...e.health, outcome: "timeout", httpStatus: null, latencyMs: 3001, detail: null };
  },
  // Outbound calls cannot get a local port: the ephemeral range is used up towards one upstream, mostly by
  // TIME-WAIT, and the conntrack table is full. Health (which calls the upstream) fails.
  "outbound-exhausted": (e) => {
    const n = data(e, "network");
    n.ephemeral = {
      low: 32768,
      high: 60999,
      inUse: 27_900,
      topDestination: { address: "10.0.4.20:8443", count: 27_800 },
    };
    n.timeWait = { total: 27_500, ephemeral: 27_400 };
    n.conntrack = { loaded: true, count: 262_100, max: 262_144, tableFullLines: 42 };
    e.health = { ...e.health, outcome: "http-error", httpStatus: 500, latencyMs: 40, detail: "HTTP 500" };
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
      filesystem("log", "/var/log/app", {
        mount: "/var/log/app",
        sizeKb: 16_384,
        availKb: 0,
        usedPercent: 100,
        inodesUsedPercent: 1,
      }),
      filesystem("cwd", "/opt/app"),
      filesystem("tmp", "/tmp"),
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

/** Requests of users' traffic waiting on an empty connection pool (pool-leak, pool-slow-db), as the lab's. */
function poolExhausted(e: Evidence, inDatabaseCalls: number, waiting: number) {
  const t = data(e, "threads");
  t.total = 110 + waiting;
  t.requestExecutor = {
    namePrefix: "http-nio-8080-exec-",
    total: waiting + inDatabaseCalls + 10,
    busy: waiting + inDatabaseCalls,
    idle: 10,
  };
  t.inDatabaseCalls = inDatabaseCalls;
  t.waitingForDbConnection = waiting;
  const s = data(e, "sockets");
  Object.assign(s, {
    established: waiting + inDatabaseCalls,
    total: waiting + inDatabaseCalls + 20,
    byState: { ESTAB: waiting + inDatabaseCalls, "TIME-WAIT": 20 },
  });
  s.idle = { ...s.idle, histogram: idleHistogram([2, 20, 40, 0, 0, 0]), overThreshold: 0, maxIdleMs: 29_000 };
  data(e, "logs").connectionNotAvailable = 48;
  e.health = { ...e.health, outcome: "timeout", httpStatus: null, latencyMs: 3001, detail: null };
}

/** A valid Evidence document for a scenario, optionally patched (edge cases). */
export function buildEvidence(scenario: Scenario = "healthy", patch?: Patch): Evidence {
  const e = healthy();
  PRESETS[scenario](e);
  patch?.(e);
  return evidenceSchema.parse(e);
}
