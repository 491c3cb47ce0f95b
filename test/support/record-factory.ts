/**
 * Builders of realistic IncidentRecord fixtures, one per failure class, with fixed times.
 * Regenerate test/fixtures/records/*.json with: npx tsx test/support/record-factory.ts
 * (Some of these will later be replaced by records of real lab runs.)
 */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Diagnosis, EvidenceLine, Finding } from "../../lambdas/core/diagnosis/schema.js";
import type { Evidence } from "../../lambdas/core/evidence/schema.js";
import {
  type ActionResult,
  type ArtifactRef,
  type IncidentRecord,
  incidentRecordSchema,
  type KeyFigures,
  type Mode,
  type PlannedAction,
  type Step,
} from "../../lambdas/core/incident/schema.js";
import { planMitigation } from "../../lambdas/core/mitigation/plan.js";
import { type Section, unavailable } from "../../lambdas/core/shared/section.js";

const ok = <T>(data: T): Section<T> => ({ status: "ok", data });

/** "02:14:05" on the fixture day -> ISO. */
export const at = (hms: string, day = "2025-03-11"): string => `${day}T${hms}.000Z`;

const HOST = "i-0a1b2c3d4e5f60718";
const PORT = 8080;

export const line = (text: string, field: string, value: EvidenceLine["value"]): EvidenceLine => ({
  text,
  field,
  value,
});

interface EvidenceOptions {
  collectedAt: string;
  pid?: number;
  health?: Evidence["health"];
  fds?: Evidence["fds"];
  sockets?: Evidence["sockets"];
  classHistogram?: Evidence["classHistogram"];
  threads?: Evidence["threads"];
  heap?: Evidence["heap"];
  logs?: Evidence["logs"];
  process?: Evidence["process"];
  listener?: Evidence["listener"];
  tomcat?: Evidence["tomcat"];
  socketSummary?: Evidence["socketSummary"];
  cpuPercent?: number;
}

export function idleHistogram(counts: [number, number, number, number, number, number]) {
  const buckets = [
    { label: "< 1 s", minMs: 0, maxMs: 1_000 },
    { label: "1-10 s", minMs: 1_000, maxMs: 10_000 },
    { label: "10-60 s", minMs: 10_000, maxMs: 60_000 },
    { label: "1-5 min", minMs: 60_000, maxMs: 300_000 },
    { label: "5-60 min", minMs: 300_000, maxMs: 3_600_000 },
    { label: "> 1 h", minMs: 3_600_000, maxMs: null },
  ];
  return buckets.map((b, i) => ({ ...b, count: counts[i] ?? 0 }));
}

export function sockets(
  byState: Record<string, number>,
  idle: [number, number, number, number, number, number],
) {
  const established = byState.ESTAB ?? 0;
  return ok({
    port: PORT,
    total: Object.values(byState).reduce((a, b) => a + b, 0),
    byState,
    established,
    idle: {
      histogram: idleHistogram(idle),
      overThreshold: idle[4] + idle[5],
      thresholdMs: 300_000,
      maxIdleMs: idle[5] > 0 ? 29_412_000 : idle[4] > 0 ? 2_950_000 : 45_000,
    },
    sendQueueNonEmpty: 0,
    topPeers: [
      { address: "10.0.12.31", count: Math.round(established * 0.52) },
      { address: "10.0.44.9", count: Math.round(established * 0.47) },
    ],
  });
}

export function fds(
  open: number,
  limit: number | null,
  socket: number,
  topFiles: { path: string; count: number }[] = [],
) {
  const file = topFiles.reduce((a, f) => a + f.count, 0) + 38;
  return ok({
    open,
    limitSoft: limit,
    limitHard: limit === null ? null : Math.max(limit, 4096),
    byKind: { socket, file, pipe: 6, anonInode: 4, other: Math.max(0, open - socket - file - 10) },
    topFiles,
  });
}

export function histogram(
  top: { className: string; instances: number; bytes: number }[],
  watched: { ws: number; upgrade: number },
): Evidence["classHistogram"] {
  return ok({
    tool: "jcmd" as const,
    command: "jcmd 4242 GC.class_histogram",
    forcedFullGc: true,
    totalInstances: top.reduce((a, e) => a + e.instances, 0) + 812_455,
    totalBytes: top.reduce((a, e) => a + e.bytes, 0) + 61_230_112,
    top: top.map((e, i) => ({
      ...e,
      rank: i + 1,
      module: e.className.startsWith("java.") ? "java.base" : null,
    })),
    watched: [
      { className: "org.apache.tomcat.websocket.WsSession", instances: watched.ws, bytes: watched.ws * 232 },
      {
        className: "org.apache.coyote.http11.upgrade.UpgradeProcessorInternal",
        instances: watched.upgrade,
        bytes: watched.upgrade * 56,
      },
    ],
  });
}

export function threads(busy: number, total: number, extra: Partial<{ inDb: number; blocked: number }> = {}) {
  const waiting = 22 + (total - busy);
  return ok({
    total: 40 + total,
    byState: {
      RUNNABLE: 11 + Math.max(0, busy - (extra.inDb ?? 0)),
      WAITING: waiting,
      TIMED_WAITING: 40 + total - 11 - Math.max(0, busy - (extra.inDb ?? 0)) - waiting - (extra.blocked ?? 0),
      BLOCKED: extra.blocked ?? 0,
    },
    requestExecutor: { namePrefix: `http-nio-${PORT}-exec-`, total, busy, idle: total - busy },
    inDatabaseCalls: extra.inDb ?? 0,
    blockedOnMonitor: extra.blocked ?? 0,
  });
}

export function heap(oldGen: number, fullGcDuringSample = 0, fullGcCount = 3) {
  return ok({
    oldGenPercent: oldGen,
    edenPercent: 37.5,
    metaspacePercent: 94.1,
    youngGcCount: 1_204,
    fullGcCount,
    fullGcTimeSeconds: fullGcCount * 0.42,
    fullGcDuringSample,
    sampleIntervalMs: 2_000,
  });
}

export function logs(tooMany: number, oom: number, samples: string[]) {
  return ok({
    path: "/opt/tomcat/logs/catalina.out",
    linesScanned: 20_000,
    tooManyOpenFiles: tooMany,
    outOfMemoryError: oom,
    samples,
  });
}

export function health(
  outcome: Evidence["health"]["outcome"],
  latencyMs: number,
  httpStatus: number | null = null,
  detail: string | null = null,
) {
  return { url: `http://127.0.0.1:${PORT}/actuator/health`, outcome, httpStatus, latencyMs, detail };
}

export function evidence(o: EvidenceOptions): Evidence {
  const pid = o.pid ?? 4242;
  return {
    schemaVersion: 1,
    collectedAt: o.collectedAt,
    target: HOST,
    input: {
      port: PORT,
      pid: null,
      healthPath: "/actuator/health",
      logPath: "/opt/tomcat/logs/catalina.out",
    },
    collector: { version: "1.0.0", durationMs: 8_412, timedOut: [], outputChars: 9_870 },
    host: ok({ hostname: "ip-10-0-3-17", kernel: "6.1.0-31-cloud-amd64", loadAverage1m: 0.21, cpuCount: 2 }),
    process:
      o.process ??
      ok({
        pid,
        user: "tomcat",
        uid: 998,
        cmdline: "/usr/lib/jvm/java-17-openjdk-amd64/bin/java -Xmx1g -jar /opt/app/api.jar",
        isJava: true,
        uptimeSeconds: 1_209_600,
        cpuPercent: o.cpuPercent ?? 1.5,
        pidSource: "listener" as const,
      }),
    listener:
      o.listener ?? ok({ listening: true, address: `*:${PORT}`, acceptQueue: { current: 0, max: 100 } }),
    fds: o.fds ?? fds(180, 65_536, 60),
    sockets: o.sockets ?? sockets({ ESTAB: 40, "TIME-WAIT": 12 }, [30, 8, 2, 0, 0, 0]),
    socketSummary: o.socketSummary ?? ok({ tcpTotal: 120, estab: 44, closed: 3, orphaned: 0, timewait: 12 }),
    fileNr: ok({ allocated: 4_320, max: 9_223_372_036_854_776_000 }),
    classHistogram:
      o.classHistogram ??
      histogram(
        [
          { className: "[B", instances: 180_233, bytes: 24_112_904 },
          { className: "java.lang.String", instances: 171_020, bytes: 4_104_480 },
        ],
        { ws: 0, upgrade: 0 },
      ),
    threads: o.threads ?? threads(2, 10),
    heap: o.heap ?? heap(41.2),
    health: o.health ?? health("ok", 14, 200),
    logs: o.logs ?? logs(0, 0, []),
    tomcat: o.tomcat ?? ok({ version: "9.0.37", source: "jar" as const }),
  };
}

function sha(name: string): string {
  return createHash("sha256").update(`fixture:${name}`).digest("hex");
}

export function artifacts(incidentId: string, names: [string, number][]): ArtifactRef[] {
  return names.map(([name, bytes]) => ({
    name,
    uri: `s3://runbook-autopilot-evidence-123456789012/incidents/${incidentId}/${name}`,
    sha256: sha(`${incidentId}/${name}`),
    bytes,
  }));
}

export function step(
  id: Step["id"],
  start: string,
  end: string | null,
  status: Step["status"] = "ok",
  extra: Partial<Pick<Step, "note" | "error" | "outputs" | "inputs">> = {},
): Step {
  return {
    id,
    status,
    startedAt: at(start),
    endedAt: end === null ? null : at(end),
    inputs: extra.inputs ?? {},
    outputs: extra.outputs ?? {},
    error: extra.error ?? null,
    note: extra.note ?? null,
  };
}

function keyFigures(e: Evidence, ws: number | null): KeyFigures {
  const f = e.fds.status === "ok" ? e.fds.data : null;
  const s = e.sockets.status === "ok" ? e.sockets.data : null;
  return {
    at: e.collectedAt,
    pid: e.process.status === "ok" ? e.process.data.pid : null,
    openFds: f?.open ?? null,
    fdLimit: f?.limitSoft ?? null,
    established: s?.established ?? null,
    wsSessions: ws,
    healthOutcome: e.health.outcome,
    healthLatencyMs: e.health.latencyMs,
  };
}

const alarm = (hms: string, name = "api-prod-unhealthy-hosts") => ({
  kind: "alarm" as const,
  at: at(hms),
  alarmName: name,
  alarmReason:
    "Threshold Crossed: 2 out of the last 2 datapoints [1.0 (11/03/25 02:12:00), 1.0 (11/03/25 02:13:00)] were greater than or equal to the threshold (1.0).",
  source: `arn:aws:cloudwatch:eu-west-1:123456789012:alarm:${name}`,
});

/**
 * The ladder and guardrails as the product's planner writes them (registry descriptions, `destructive`
 * flags and guardrail sentences), so the hand-made records describe only what the product does.
 */
function productPlan(
  mode: Mode,
  restart: { service: string | null; command: string | null } | null = {
    service: "tomcat.service",
    command: null,
  },
) {
  return planMitigation({
    classId: "websocket-session-leak",
    ladder: [
      { action: "kill-idle-connections", params: { minIdleSeconds: 300, maxConnections: 5_000 } },
      { action: "restart-service" },
      { action: "escalate" },
    ],
    mode,
    context: {
      port: PORT,
      healthPath: "/health",
      pid: 4242,
      restart,
      process: { ok: true, pid: 4242, startTicks: 1 },
      histogramMissing: false,
    },
    hostHealthy: false,
    cooldownSeconds: 1800,
  });
}

const ladder = (
  kill: Partial<PlannedAction> = {},
  restart: Partial<PlannedAction> = {},
  mode: Mode = "auto",
): PlannedAction[] => {
  const [k, r, e] = productPlan(mode).ladder;
  if (!k || !r || !e) throw new Error("the planner returned fewer than three rungs");
  return [{ ...k, ...kill }, { ...r, ...restart }, e];
};

const guardrails = (mode: Mode): string[] => productPlan(mode).guardrails;
const GUARDRAILS = guardrails("auto");

function action(
  rung: number,
  a: ActionResult["action"],
  status: ActionResult["status"],
  start: string,
  end: string,
  reason: string,
  healthyAfter: boolean | null,
  details: Record<string, unknown> = {},
): ActionResult {
  return { rung, action: a, status, startedAt: at(start), endedAt: at(end), reason, details, healthyAfter };
}

const WS_TOP = [
  { className: "[B", instances: 412_880, bytes: 88_342_016 },
  { className: "java.lang.String", instances: 198_112, bytes: 4_754_688 },
  { className: "java.util.concurrent.ConcurrentHashMap$Node", instances: 61_540, bytes: 1_969_280 },
  { className: "org.apache.tomcat.websocket.WsSession", instances: 981, bytes: 227_592 },
  { className: "org.apache.coyote.http11.upgrade.UpgradeProcessorInternal", instances: 981, bytes: 54_936 },
  {
    className: "org.apache.tomcat.websocket.server.WsRemoteEndpointImplServer",
    instances: 981,
    bytes: 109_872,
  },
  { className: "org.apache.tomcat.util.net.NioEndpoint$NioSocketWrapper", instances: 1_016, bytes: 211_328 },
  { className: "sun.nio.ch.SocketChannelImpl", instances: 1_017, bytes: 113_904 },
];

// ---------------------------------------------------------------- websocket-session-leak

export function websocketSessionLeakRecord(): IncidentRecord {
  const id = "inc-20250311-021400-ws";
  const before = evidence({
    collectedAt: at("02:14:47"),
    fds: fds(1024, 1024, 1_003),
    sockets: sockets({ ESTAB: 998, "CLOSE-WAIT": 9, "TIME-WAIT": 5 }, [6, 3, 2, 2, 211, 774]),
    classHistogram: unavailable(
      "jcmd 4242 GC.class_histogram failed: Unable to open socket file /proc/4242/root/tmp/.java_pid4242: target process 4242 doesn't respond within 10500ms or HotSpot VM not loaded",
    ),
    health: health("timeout", 5_000, null, "no response within 5 s (connect queued)"),
    logs: logs(1_840, 0, [
      "11-Mar-2025 02:13:58.112 SEVERE [http-nio-8080-Acceptor] org.apache.tomcat.util.net.Acceptor.run Socket accept failed java.io.IOException: Too many open files",
    ]),
    listener: ok({ listening: true, address: `*:${PORT}`, acceptQueue: { current: 100, max: 100 } }),
    threads: threads(0, 10),
  });
  // A relief batch of 32 idle sockets freed descriptors for the attach; the leak is still there.
  const afterRelief = evidence({
    collectedAt: at("02:15:02"),
    fds: fds(1_005, 1024, 984),
    sockets: sockets({ ESTAB: 978, "CLOSE-WAIT": 2, "TIME-WAIT": 32 }, [6, 3, 2, 2, 191, 774]),
    classHistogram: histogram(WS_TOP, { ws: 981, upgrade: 981 }),
    health: health("timeout", 5_000, null, "no response within 5 s (connect queued)"),
  });
  const after = evidence({
    collectedAt: at("02:16:28"),
    fds: fds(61, 1024, 40),
    sockets: sockets({ ESTAB: 12, "TIME-WAIT": 18 }, [8, 3, 1, 0, 0, 0]),
    classHistogram: histogram(
      [
        { className: "[B", instances: 201_553, bytes: 30_998_112 },
        { className: "java.lang.String", instances: 180_220, bytes: 4_325_280 },
        { className: "org.apache.tomcat.websocket.WsSession", instances: 12, bytes: 2_784 },
      ],
      { ws: 12, upgrade: 12 },
    ),
    health: health("ok", 18, 200),
  });
  const findings: Finding[] = [
    {
      id: "websocket-session-leak",
      title: "WebSocket sessions of vanished clients held open",
      kind: "cause",
      confidence: 0.9,
      variant: "histogram-after-relief",
      summary:
        "ESTABLISHED connections on 8080 idle for hours fill the fd table; the WsSession count equals the ESTABLISHED count.",
      evidence: [
        line("998 ESTABLISHED connections on port 8080", "sockets.established", 998),
        line("985 of them idle longer than 5 min (longest 8 h 10 min)", "sockets.idle.overThreshold", 985),
        line(
          "981 WsSession instances (histogram after relief, 978 ESTABLISHED then)",
          "afterRelief.classHistogram.watched.WsSession",
          981,
        ),
        line("sockets are 1,003 of 1,024 open fds", "fds.byKind.socket", 1_003),
      ],
      caveats: [
        "The class histogram could not be taken before mitigation (attach failed at the fd limit); the count comes from the histogram after relief.",
      ],
    },
    {
      id: "fd-exhaustion",
      title: "Open files at the limit",
      kind: "symptom",
      confidence: 1,
      variant: "at-limit",
      summary: "1,024 of 1,024 file descriptors open; accept() fails with Too many open files.",
      evidence: [
        line("open fds equal the soft limit", "fds.open", 1_024),
        line("1,840 'Too many open files' lines in catalina.out", "logs.tooManyOpenFiles", 1_840),
      ],
      caveats: [],
    },
  ];
  const diagnosis: Diagnosis = {
    schemaVersion: 1,
    rootCause: {
      id: "websocket-session-leak",
      confidence: 0.9,
      summary:
        "WebSocket sessions of clients that went away stayed ESTABLISHED until the process ran out of file descriptors",
    },
    findings,
    ruledOut: [
      {
        id: "slow-database",
        hypothesis: "Slow SQL held the request threads",
        evidence: [
          line("no request thread in a JDBC read", "threads.inDatabaseCalls", 0),
          line("request pool idle: 0 of 10 busy", "threads.requestExecutor.busy", 0),
        ],
      },
      {
        id: "cpu-saturation",
        hypothesis: "The JVM was CPU-bound",
        evidence: [line("process CPU 1.5% of one core", "process.cpuPercent", 1.5)],
      },
      {
        id: "load-balancer-path",
        hypothesis: "The load balancer dropped the traffic",
        evidence: [line("the health check on the host itself timed out", "health.outcome", "timeout")],
      },
      {
        id: "heap-exhaustion",
        hypothesis: "The heap was full",
        evidence: [line("old gen 41.2%, no full GC during the sample", "heap.oldGenPercent", 41.2)],
      },
    ],
    contributing: [
      {
        id: "low-fd-limit",
        summary: "The service runs with the default soft limit of 1,024 open files",
        evidence: [line("soft limit", "fds.limitSoft", 1_024)],
      },
      {
        id: "tomcat-predates-64848",
        summary: "Tomcat 9.0.37 predates the Bugzilla 64848 fixes (9.0.40)",
        evidence: [line("Tomcat version from the jar", "tomcat.version", "9.0.37")],
      },
    ],
    notEvaluated: [],
    ruleErrors: [],
  };
  const record: IncidentRecord = {
    schemaVersion: 1,
    incidentId: id,
    runbook: "api-unreachable",
    target: HOST,
    mode: "auto",
    trigger: alarm("02:14:00"),
    status: "recovered",
    statusReason: "Health check passed after closing 985 idle connections; verified over 3 attempts.",
    startedAt: at("02:14:03"),
    endedAt: at("02:16:31"),
    steps: [
      step("collect", "02:14:05", "02:14:47", "ok", { note: "class histogram unavailable: attach failed" }),
      step("diagnose", "02:14:47", "02:14:48", "ok", { outputs: { rootCause: "websocket-session-leak" } }),
      step("save-evidence", "02:14:48", "02:14:50"),
      step("plan", "02:14:50", "02:14:51", "ok", {
        note: "ladder: kill-idle-connections, restart-service, escalate",
      }),
      step("apply", "02:14:51", "02:15:24"),
      step("collect-after-relief", "02:14:53", "02:15:05", "ok", { note: "class histogram available again" }),
      step("verify", "02:15:24", "02:16:30"),
      step("record", "02:16:30", "02:16:31"),
    ],
    evidence: { before, afterRelief, after },
    artifacts: artifacts(id, [
      ["probe-before.txt", 9_870],
      ["ss-tanpo-before.txt", 212_331],
      ["proc-fd-before.txt", 88_102],
      ["jstack-before.txt", 61_447],
      ["class-histogram-after-relief.txt", 402_118],
      ["probe-after.txt", 8_204],
    ]),
    diagnosis,
    plan: { classId: "websocket-session-leak", mode: "auto", ladder: ladder(), guardrails: GUARDRAILS },
    actions: [
      {
        ...action(
          0,
          "kill-idle-connections",
          "applied",
          "02:14:51",
          "02:15:20",
          "closed 985 connections idle > 5 min; 13 kept",
          true,
          { killed: 985, kept: 13 },
        ),
        // Written by a workflow that records the first change: the kill was sent a second into the rung.
        firstChangeAt: at("02:14:52"),
      },
      action(1, "restart-service", "skipped", "02:15:20", "02:15:20", "service healthy after rung 1", null),
      action(2, "escalate", "skipped", "02:15:20", "02:15:20", "service healthy after rung 1", null),
    ],
    verification: {
      recovered: true,
      attempts: 3,
      durationMs: 36_000,
      before: { ...keyFigures(before, null), wsSessions: null },
      afterRelief: keyFigures(afterRelief, 981),
      after: keyFigures(after, 12),
    },
    escalation: null,
    errors: [],
  };
  return incidentRecordSchema.parse(record);
}

// ---------------------------------------------------------------- file-handle-leak

export function fileHandleLeakRecord(): IncidentRecord {
  const id = "inc-20250402-101500-files";
  const topFiles = [
    { path: "/opt/app/templates/invoice-template.xlsx", count: 3_118 },
    { path: "/opt/app/config/rates.csv", count: 604 },
    { path: "/var/log/api/audit.log", count: 1 },
  ];
  const before = evidence({
    collectedAt: at("10:16:02", "2025-04-02"),
    fds: fds(4_096, 4_096, 132, topFiles),
    sockets: sockets({ ESTAB: 96, "CLOSE-WAIT": 24, "TIME-WAIT": 12 }, [70, 14, 8, 4, 0, 0]),
    health: health("http-error", 212, 500, "HTTP 500: java.io.FileNotFoundException (Too many open files)"),
    logs: logs(655, 0, [
      "java.io.FileNotFoundException: /opt/app/templates/invoice-template.xlsx (Too many open files)",
    ]),
    classHistogram: histogram(
      [
        { className: "[B", instances: 301_002, bytes: 61_002_440 },
        { className: "java.io.FileDescriptor", instances: 3_790, bytes: 121_280 },
        { className: "java.io.FileInputStream", instances: 3_722, bytes: 119_104 },
        { className: "org.apache.poi.openxml4j.opc.ZipPackage", instances: 3_118, bytes: 249_440 },
      ],
      { ws: 0, upgrade: 0 },
    ),
  });
  const after = evidence({
    collectedAt: at("10:19:40", "2025-04-02"),
    pid: 5120,
    fds: fds(212, 4_096, 70, [{ path: "/var/log/api/audit.log", count: 1 }]),
    sockets: sockets({ ESTAB: 58, "TIME-WAIT": 40 }, [50, 6, 2, 0, 0, 0]),
  });
  const diagnosis: Diagnosis = {
    schemaVersion: 1,
    rootCause: {
      id: "file-handle-leak",
      confidence: 0.85,
      summary: "Invoice export opened the template file on every request and never closed it",
    },
    findings: [
      {
        id: "file-handle-leak",
        title: "Regular files hold most descriptors",
        kind: "cause",
        confidence: 0.85,
        variant: "top-files",
        summary: "3,118 descriptors point at the same template file.",
        evidence: [
          line("3,118 fds open on /opt/app/templates/invoice-template.xlsx", "fds.topFiles[0].count", 3_118),
          line("regular files are 3,761 of 4,096 fds", "fds.byKind.file", 3_761),
        ],
        caveats: [],
      },
    ],
    ruledOut: [
      {
        id: "websocket-session-leak",
        hypothesis: "Leaked WebSocket sessions",
        evidence: [line("no WsSession instances", "classHistogram.watched.WsSession", 0)],
      },
      {
        id: "thread-pool-exhaustion",
        hypothesis: "All request threads busy",
        evidence: [line("2 of 10 request threads busy", "threads.requestExecutor.busy", 2)],
      },
    ],
    contributing: [],
    notEvaluated: [],
    ruleErrors: [],
  };
  return incidentRecordSchema.parse({
    schemaVersion: 1,
    incidentId: id,
    runbook: "api-unreachable",
    target: HOST,
    mode: "auto",
    trigger: { ...alarm("10:15:00"), at: at("10:15:00", "2025-04-02") },
    status: "recovered",
    statusReason: "Restarted; health check passed and open fds dropped to 212.",
    startedAt: at("10:15:04", "2025-04-02"),
    endedAt: at("10:19:45", "2025-04-02"),
    steps: [
      {
        ...step("collect", "10:15:05", "10:16:02"),
        startedAt: at("10:15:05", "2025-04-02"),
        endedAt: at("10:16:02", "2025-04-02"),
      },
      {
        ...step("diagnose", "10:16:02", "10:16:03"),
        startedAt: at("10:16:02", "2025-04-02"),
        endedAt: at("10:16:03", "2025-04-02"),
      },
      {
        ...step("save-evidence", "10:16:03", "10:16:06"),
        startedAt: at("10:16:03", "2025-04-02"),
        endedAt: at("10:16:06", "2025-04-02"),
      },
      {
        ...step("plan", "10:16:06", "10:16:06"),
        startedAt: at("10:16:06", "2025-04-02"),
        endedAt: at("10:16:06", "2025-04-02"),
      },
      {
        ...step("apply", "10:16:06", "10:18:58"),
        startedAt: at("10:16:06", "2025-04-02"),
        endedAt: at("10:18:58", "2025-04-02"),
      },
      {
        ...step("collect-after-relief", "10:18:58", "10:18:58", "skipped", {
          note: "restart replaced the process; the after-collection covers it",
        }),
        startedAt: at("10:18:58", "2025-04-02"),
        endedAt: at("10:18:58", "2025-04-02"),
      },
      {
        ...step("verify", "10:18:58", "10:19:44"),
        startedAt: at("10:18:58", "2025-04-02"),
        endedAt: at("10:19:44", "2025-04-02"),
      },
      {
        ...step("record", "10:19:44", "10:19:45"),
        startedAt: at("10:19:44", "2025-04-02"),
        endedAt: at("10:19:45", "2025-04-02"),
      },
    ],
    evidence: { before, afterRelief: null, after },
    artifacts: artifacts(id, [
      ["probe-before.txt", 11_024],
      ["proc-fd-before.txt", 402_556],
      ["probe-after.txt", 7_990],
    ]),
    diagnosis,
    plan: {
      classId: "file-handle-leak",
      mode: "auto",
      ladder: ladder({
        blockedReason: "idle sockets do not hold the descriptors (132 sockets of 4,096 fds)",
      }),
      guardrails: GUARDRAILS,
    },
    actions: [
      {
        ...action(
          0,
          "kill-idle-connections",
          "skipped",
          "10:16:06",
          "10:16:06",
          "idle sockets do not hold the descriptors",
          null,
        ),
        startedAt: at("10:16:06", "2025-04-02"),
        endedAt: at("10:16:06", "2025-04-02"),
      },
      {
        ...action(
          1,
          "restart-service",
          "applied",
          "10:16:07",
          "10:18:58",
          "restarted: PID 4242 → 5120 (stopped with TERM), healthy after 41s",
          true,
        ),
        startedAt: at("10:16:07", "2025-04-02"),
        endedAt: at("10:18:58", "2025-04-02"),
      },
    ],
    verification: {
      recovered: true,
      attempts: 2,
      durationMs: 46_000,
      before: keyFigures(before, 0),
      after: keyFigures(after, 0),
    },
    escalation: null,
    errors: [],
  });
}

// ---------------------------------------------------------------- thread-pool-exhaustion

export function threadPoolExhaustionRecord(): IncidentRecord {
  const id = "inc-20250311-143000-threads";
  const before = evidence({
    collectedAt: at("14:31:10"),
    fds: fds(612, 65_536, 420),
    sockets: sockets({ ESTAB: 402, "CLOSE-WAIT": 3, "TIME-WAIT": 2 }, [380, 20, 2, 0, 0, 0]),
    threads: threads(200, 200, { inDb: 194, blocked: 3 }),
    listener: ok({ listening: true, address: `*:${PORT}`, acceptQueue: { current: 100, max: 100 } }),
    health: health("timeout", 5_000, null, "no response within 5 s"),
    cpuPercent: 3.2,
  });
  const after = evidence({
    collectedAt: at("14:36:02"),
    pid: 6001,
    threads: threads(4, 200),
    health: health("ok", 35, 200),
  });
  return incidentRecordSchema.parse({
    schemaVersion: 1,
    incidentId: id,
    runbook: "api-unreachable",
    target: HOST,
    mode: "approve",
    trigger: alarm("14:30:00", "api-prod-p99-latency"),
    status: "recovered",
    statusReason: "Restart approved by jdoe; health check passed.",
    startedAt: at("14:30:04"),
    endedAt: at("14:36:05"),
    steps: [
      step("collect", "14:30:05", "14:31:10"),
      step("diagnose", "14:31:10", "14:31:11"),
      step("save-evidence", "14:31:11", "14:31:14"),
      step("plan", "14:31:14", "14:31:14"),
      step("apply", "14:31:14", "14:35:20", "ok", {
        note: "waited for approval (approved by jdoe at 14:33:40)",
      }),
      step("verify", "14:35:20", "14:36:04"),
      step("record", "14:36:04", "14:36:05"),
    ],
    evidence: { before, afterRelief: null, after },
    artifacts: artifacts(id, [
      ["probe-before.txt", 12_400],
      ["jstack-before.txt", 801_226],
    ]),
    diagnosis: {
      schemaVersion: 1,
      rootCause: {
        id: "thread-pool-exhaustion",
        confidence: 0.8,
        summary: "All 200 request threads waited on database reads with no timeout",
      },
      findings: [
        {
          id: "thread-pool-exhaustion",
          title: "Request pool exhausted by database calls",
          kind: "cause",
          confidence: 0.8,
          variant: "jdbc",
          summary: "200 of 200 request threads busy, 194 of them in a JDBC socket read; accept queue full.",
          evidence: [
            line("200 of 200 request threads busy", "threads.requestExecutor.busy", 200),
            line("194 threads in a database read", "threads.inDatabaseCalls", 194),
            line("accept queue full (100 of 100)", "listener.acceptQueue.current", 100),
          ],
          caveats: [],
        },
      ],
      ruledOut: [
        {
          id: "fd-exhaustion",
          hypothesis: "Out of file descriptors",
          evidence: [line("612 of 65,536 fds open", "fds.open", 612)],
        },
        {
          id: "heap-exhaustion",
          hypothesis: "The heap was full",
          evidence: [line("old gen 41.2%", "heap.oldGenPercent", 41.2)],
        },
      ],
      contributing: [{ id: "no-jdbc-timeout", summary: "The JDBC URL sets no socketTimeout", evidence: [] }],
      notEvaluated: [{ id: "slow-database", reason: "database metrics are outside the host's evidence" }],
      ruleErrors: [],
    },
    plan: {
      classId: "thread-pool-exhaustion",
      mode: "approve",
      ladder: ladder({ blockedReason: "connections are busy, not idle" }, {}, "approve"),
      guardrails: guardrails("approve"),
    },
    actions: [
      action(
        0,
        "kill-idle-connections",
        "skipped",
        "14:31:14",
        "14:31:14",
        "connections are busy, not idle",
        null,
      ),
      action(
        1,
        "restart-service",
        "applied",
        "14:33:40",
        "14:35:20",
        "restarted: PID 4242 → 6001 (stopped with TERM), healthy after 38s",
        true,
      ),
    ],
    verification: {
      recovered: true,
      attempts: 2,
      durationMs: 44_000,
      before: keyFigures(before, 0),
      after: keyFigures(after, 0),
    },
    escalation: null,
    errors: [],
  });
}

// ---------------------------------------------------------------- load-balancer-path

export function loadBalancerPathRecord(): IncidentRecord {
  const id = "inc-20250311-090500-lb";
  const before = evidence({ collectedAt: at("09:05:41"), health: health("ok", 12, 200) });
  return incidentRecordSchema.parse({
    schemaVersion: 1,
    incidentId: id,
    runbook: "api-unreachable",
    target: HOST,
    mode: "auto",
    trigger: {
      ...alarm("09:05:00", "api-prod-unhealthy-hosts"),
      alarmReason:
        "Threshold Crossed: 1 datapoint [1.0 (11/03/25 09:04:00)] was greater than or equal to the threshold (1.0).",
    },
    status: "not-down",
    statusReason: "The service answered its health check on the host in 12 ms; nothing to mitigate there.",
    startedAt: at("09:05:03"),
    endedAt: at("09:05:50"),
    steps: [
      step("collect", "09:05:04", "09:05:41"),
      step("diagnose", "09:05:41", "09:05:42"),
      step("save-evidence", "09:05:42", "09:05:44"),
      step("plan", "09:05:44", "09:05:44", "ok", { note: "host healthy: notify only" }),
      step("apply", "09:05:44", "09:05:49"),
      step("verify", "09:05:49", "09:05:49", "skipped", { note: "nothing was changed" }),
      step("record", "09:05:49", "09:05:50"),
    ],
    evidence: { before, afterRelief: null, after: null },
    artifacts: artifacts(id, [["probe-before.txt", 8_870]]),
    diagnosis: {
      schemaVersion: 1,
      rootCause: {
        id: "load-balancer-path",
        confidence: 0.7,
        summary: "The host answers; the failure is between the load balancer and the instance",
      },
      findings: [
        {
          id: "load-balancer-path",
          title: "Healthy on the host, unhealthy through the LB",
          kind: "location",
          confidence: 0.7,
          variant: "healthy-locally",
          summary:
            "The health endpoint answered 200 in 12 ms on the host while the target group reported it unhealthy.",
          evidence: [
            line("health check on the host: 200 in 12 ms", "health.latencyMs", 12),
            line("listener accepting, accept queue empty", "listener.acceptQueue.current", 0),
          ],
          caveats: ["Target health and security groups are not part of the host evidence."],
        },
      ],
      ruledOut: [
        {
          id: "fd-exhaustion",
          hypothesis: "Out of file descriptors",
          evidence: [line("180 of 65,536 fds open", "fds.open", 180)],
        },
        {
          id: "thread-pool-exhaustion",
          hypothesis: "All request threads busy",
          evidence: [line("2 of 10 request threads busy", "threads.requestExecutor.busy", 2)],
        },
        {
          id: "process-down",
          hypothesis: "The process was down",
          evidence: [line("listener on *:8080", "listener.listening", true)],
        },
      ],
      contributing: [],
      notEvaluated: [],
      ruleErrors: [],
    },
    plan: {
      classId: "load-balancer-path",
      mode: "auto",
      ladder: [
        {
          rung: 0,
          action: "notify-only",
          params: { topic: "arn:aws:sns:eu-west-1:123456789012:oncall-api" },
          destructive: false,
          description: "Change nothing on the host; report the diagnosis to the on-call.",
          blockedReason: null,
        },
      ],
      guardrails: GUARDRAILS,
    },
    actions: [
      action(
        0,
        "notify-only",
        "applied",
        "09:05:44",
        "09:05:49",
        "notified on-call; nothing changed on the host",
        null,
      ),
    ],
    verification: null,
    escalation: {
      reason: "The host is healthy: target health, security groups and listener rules need a human.",
      notified: ["arn:aws:sns:eu-west-1:123456789012:oncall-api"],
    },
    errors: [],
  });
}

// ---------------------------------------------------------------- process-down

export function processDownRecord(): IncidentRecord {
  const id = "inc-20250311-031200-down";
  const before = evidence({
    collectedAt: at("03:12:20"),
    process: unavailable("no process listens on port 8080"),
    listener: ok({ listening: false, address: null, acceptQueue: null }),
    fds: unavailable("no process to inspect"),
    sockets: sockets({ "TIME-WAIT": 3 }, [0, 0, 0, 0, 0, 0]),
    classHistogram: unavailable("no process to attach to"),
    threads: unavailable("no process to attach to"),
    heap: unavailable("no process to attach to"),
    health: health("refused", 1, null, "connection refused"),
    logs: logs(0, 0, [
      "11-Mar-2025 03:09:51.004 INFO [main] org.apache.catalina.core.StandardService.startInternal Starting service [Tomcat]",
    ]),
  });
  const after = evidence({ collectedAt: at("03:13:31"), pid: 7710, health: health("ok", 25, 200) });
  return incidentRecordSchema.parse({
    schemaVersion: 1,
    incidentId: id,
    runbook: "api-unreachable",
    target: HOST,
    mode: "auto",
    trigger: alarm("03:12:00"),
    status: "recovered",
    statusReason: "Service started; health check passed.",
    startedAt: at("03:12:03"),
    endedAt: at("03:13:35"),
    steps: [
      step("collect", "03:12:04", "03:12:20", "ok", {
        note: "no process on port 8080: JVM sections skipped",
      }),
      step("diagnose", "03:12:20", "03:12:20"),
      step("save-evidence", "03:12:20", "03:12:22"),
      step("plan", "03:12:22", "03:12:22"),
      step("apply", "03:12:22", "03:13:05"),
      step("verify", "03:13:05", "03:13:34"),
      step("record", "03:13:34", "03:13:35"),
    ],
    evidence: { before, afterRelief: null, after },
    artifacts: artifacts(id, [
      ["probe-before.txt", 3_410],
      ["journal-tomcat.txt", 22_118],
    ]),
    diagnosis: {
      schemaVersion: 1,
      rootCause: { id: "process-down", confidence: 0.95, summary: "No JVM listened on port 8080" },
      findings: [
        {
          id: "process-down",
          title: "Nothing listens on the port",
          kind: "cause",
          confidence: 0.95,
          variant: "no-listener",
          summary: "Port 8080 has no listener and the health check is refused.",
          evidence: [
            line("no listener on port 8080", "listener.listening", false),
            line("health check refused", "health.outcome", "refused"),
          ],
          caveats: ["Why the process died is not in the host evidence: read the journal and dmesg."],
        },
      ],
      ruledOut: [],
      contributing: [],
      notEvaluated: [
        { id: "websocket-session-leak", reason: "no process to inspect" },
        { id: "heap-exhaustion", reason: "no process to inspect" },
      ],
      ruleErrors: [],
    },
    plan: {
      classId: "process-down",
      mode: "auto",
      ladder: ladder({ blockedReason: "no process to act on" }),
      guardrails: GUARDRAILS,
    },
    actions: [
      action(0, "kill-idle-connections", "skipped", "03:12:22", "03:12:22", "no process to act on", null),
      {
        ...action(
          1,
          "restart-service",
          "applied",
          "03:12:22",
          "03:13:05",
          "systemctl restart tomcat.service (new PID 7710)",
          true,
        ),
        firstChangeAt: at("03:12:22"),
      },
    ],
    verification: {
      recovered: true,
      attempts: 2,
      durationMs: 29_000,
      before: keyFigures(before, null),
      after: keyFigures(after, 0),
    },
    escalation: null,
    errors: [],
  });
}

// ---------------------------------------------------------------- heap-exhaustion (plan mode: finding only)

export function heapExhaustionRecord(): IncidentRecord {
  const id = "inc-20250311-161000-heap";
  const before = evidence({
    collectedAt: at("16:10:55"),
    heap: heap(99.6, 4, 1_933),
    health: health("timeout", 5_000, null, "no response within 5 s"),
    logs: logs(0, 23, [
      'Exception in thread "http-nio-8080-exec-7" java.lang.OutOfMemoryError: Java heap space',
    ]),
    cpuPercent: 98.4,
    classHistogram: histogram(
      [
        { className: "[B", instances: 2_410_552, bytes: 612_004_112 },
        { className: "com.example.cache.SessionCacheEntry", instances: 2_104_339, bytes: 101_008_272 },
        { className: "java.lang.String", instances: 2_200_010, bytes: 52_800_240 },
        { className: "java.util.HashMap$Node", instances: 2_150_771, bytes: 68_824_672 },
      ],
      { ws: 0, upgrade: 0 },
    ),
  });
  return incidentRecordSchema.parse({
    schemaVersion: 1,
    incidentId: id,
    runbook: "api-unreachable",
    target: HOST,
    mode: "plan",
    trigger: { kind: "manual", at: at("16:10:00"), alarmName: null, alarmReason: null, source: "jdoe" },
    status: "planned",
    statusReason: "Plan mode: the restart was planned, not applied.",
    startedAt: at("16:10:02"),
    endedAt: at("16:11:03"),
    steps: [
      step("collect", "16:10:03", "16:10:55"),
      step("diagnose", "16:10:55", "16:10:56"),
      step("save-evidence", "16:10:56", "16:11:01"),
      step("plan", "16:11:01", "16:11:02"),
      step("apply", "16:11:02", "16:11:02", "skipped", { note: "plan mode" }),
      step("record", "16:11:02", "16:11:03"),
    ],
    evidence: { before, afterRelief: null, after: null },
    artifacts: artifacts(id, [
      ["probe-before.txt", 10_455],
      ["class-histogram-before.txt", 388_002],
    ]),
    diagnosis: {
      schemaVersion: 1,
      rootCause: {
        id: "heap-exhaustion",
        confidence: 0.85,
        summary: "The old generation is full and the JVM runs back-to-back full GCs",
      },
      findings: [
        {
          id: "heap-exhaustion",
          title: "Heap full, GC thrashing",
          kind: "symptom",
          confidence: 0.85,
          variant: "gc-thrash",
          summary: "Old gen 99.6%, 4 full GCs in a 2 s sample, 23 OutOfMemoryError lines.",
          evidence: [
            line("old gen 99.6% after GC", "heap.oldGenPercent", 99.6),
            line("4 full GCs during the 2 s sample", "heap.fullGcDuringSample", 4),
            line("23 OutOfMemoryError lines", "logs.outOfMemoryError", 23),
          ],
          caveats: [],
        },
      ],
      ruledOut: [
        {
          id: "fd-exhaustion",
          hypothesis: "Out of file descriptors",
          evidence: [line("180 of 65,536 fds open", "fds.open", 180)],
        },
      ],
      contributing: [],
      notEvaluated: [],
      ruleErrors: [],
    },
    plan: {
      classId: "heap-exhaustion",
      mode: "plan",
      ladder: ladder({ blockedReason: "the heap, not the connections, is the problem" }, {}, "plan"),
      guardrails: guardrails("plan"),
    },
    actions: [
      action(
        0,
        "kill-idle-connections",
        "skipped",
        "16:11:02",
        "16:11:02",
        "the heap, not the connections, is the problem",
        null,
      ),
      action(
        1,
        "restart-service",
        "planned",
        "16:11:02",
        "16:11:02",
        "mode plan: printed, not applied",
        null,
      ),
    ],
    verification: null,
    escalation: null,
    errors: [],
  });
}

// ---------------------------------------------------------------- failed mid-way

export function failedCollectionRecord(): IncidentRecord {
  const id = "inc-20250311-220500-failed";
  return incidentRecordSchema.parse({
    schemaVersion: 1,
    incidentId: id,
    runbook: "api-unreachable",
    target: HOST,
    mode: "auto",
    trigger: alarm("22:05:00"),
    status: "failed",
    statusReason:
      "Evidence collection failed: SSM could not deliver the probe, so nothing was diagnosed or changed.",
    startedAt: at("22:05:03"),
    endedAt: at("22:06:40"),
    steps: [
      step("collect", "22:05:04", "22:06:34", "failed", {
        error: {
          name: "CommandUndeliverableError",
          message: `SSM command to ${HOST} is Undeliverable: the SSM agent is not connected (jcmd could not be checked)`,
        },
      }),
      step("diagnose", "22:06:34", "22:06:34", "skipped", { note: "no evidence" }),
      step("save-evidence", "22:06:34", "22:06:34", "skipped", { note: "no evidence" }),
      step("plan", "22:06:34", "22:06:34", "skipped", { note: "no diagnosis" }),
      step("apply", "22:06:34", "22:06:34", "skipped", { note: "no plan" }),
      step("verify", "22:06:34", "22:06:34", "skipped", { note: "nothing was applied" }),
      step("record", "22:06:39", "22:06:40"),
    ],
    evidence: { before: null, afterRelief: null, after: null },
    artifacts: [],
    diagnosis: null,
    plan: null,
    actions: [],
    verification: null,
    escalation: {
      reason: "Evidence collection failed; a human has to look at the host.",
      notified: ["arn:aws:sns:eu-west-1:123456789012:oncall-api"],
    },
    errors: [
      {
        step: "collect",
        name: "CommandUndeliverableError",
        message: `SSM command to ${HOST} is Undeliverable: the SSM agent is not connected (jcmd could not be checked)`,
      },
    ],
  });
}

// ---------------------------------------------------------------- braked by the fleet brake

/**
 * The seed's incident on one of three instances that all show it, in an execution the fleet brake stopped
 * (lambdas/core/events/fleet-brake.ts): collected and diagnosed before relief (the attach failed, so the
 * class rests on socket evidence), never planned nor mitigated. The apply and verify steps, the status and
 * the escalation are what the state machine's postmortem step writes for a braked target
 * (`closeTarget` in lambdas/workflows/state-machine-steps.ts, `finalStatus` in run-runbook.ts).
 */
export function brakedRecord(): IncidentRecord {
  const seed = websocketSessionLeakRecord();
  const [cause, ...rest] = seed.diagnosis?.findings ?? [];
  if (!seed.diagnosis || !cause) throw new Error("the seed record has no diagnosis");
  const brake =
    "3 of 3 instances (100%) show websocket-session-leak, above the 50% brake: escalating instead of mitigating";
  const reason = `Nothing was changed on the host: fleet brake: ${brake}.`;
  const id = "inc-20250311-021400-braked";
  const findings: Finding[] = [
    {
      ...cause,
      confidence: 0.7,
      variant: "without-attach",
      evidence: cause.evidence.filter((e) => !e.field.startsWith("afterRelief.")),
      caveats: [
        "The JVM could not be attached (class histogram unavailable), so WsSession objects were not counted; the class rests on socket evidence: many ESTABLISHED connections idle far beyond the HTTP keep-alive timeout, and sockets a large share of the open fds.",
      ],
    },
    ...rest,
  ];
  return incidentRecordSchema.parse({
    ...seed,
    incidentId: id,
    status: "braked",
    statusReason: reason,
    endedAt: at("02:14:53"),
    steps: [
      // Collected, diagnosed and saved as in the seed; then the brake.
      ...seed.steps.filter((x) => ["collect", "diagnose", "save-evidence"].includes(x.id)),
      step("apply", "02:14:51", "02:14:51", "skipped", {
        outputs: { stopReason: "braked", reason: `fleet brake: ${brake}` },
        note: "fleet brake",
      }),
      step("verify", "02:14:51", "02:14:51", "skipped", {
        note: "Nothing was changed on the host, so there is nothing to verify.",
      }),
      step("record", "02:14:52", "02:14:53", "ok", { outputs: { status: "braked" } }),
    ],
    evidence: { before: seed.evidence.before, afterRelief: null, after: null },
    artifacts: artifacts(id, [
      ["probe-before.txt", 9_870],
      ["ss-tanpo-before.txt", 212_331],
      ["proc-fd-before.txt", 88_102],
      ["jstack-before.txt", 61_447],
    ]),
    diagnosis: {
      ...seed.diagnosis,
      rootCause: { ...seed.diagnosis.rootCause, confidence: 0.7 },
      findings,
    },
    plan: null,
    actions: [],
    verification: null,
    escalation: { reason, notified: ["arn:aws:sns:eu-west-1:123456789012:oncall-api"] },
    errors: [],
  });
}

export const RECORD_BUILDERS: Readonly<Record<string, () => IncidentRecord>> = {
  "websocket-session-leak": websocketSessionLeakRecord,
  "file-handle-leak": fileHandleLeakRecord,
  "thread-pool-exhaustion": threadPoolExhaustionRecord,
  "load-balancer-path": loadBalancerPathRecord,
  "process-down": processDownRecord,
  "heap-exhaustion": heapExhaustionRecord,
  "failed-collection": failedCollectionRecord,
  braked: brakedRecord,
};

export const FIXTURE_DIR = fileURLToPath(new URL("../fixtures/records/", import.meta.url));

/** Writes every fixture; run this file directly to regenerate. */
export function writeRecordFixtures(dir = FIXTURE_DIR): string[] {
  mkdirSync(dir, { recursive: true });
  return Object.entries(RECORD_BUILDERS).map(([name, build]) => {
    const path = `${dir}${name}.json`;
    writeFileSync(path, `${JSON.stringify(build(), null, 2)}\n`);
    return path;
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const p of writeRecordFixtures()) process.stdout.write(`${p}\n`);
}
