import * as z from "zod";
import { sectionSchema } from "../shared/section.js";
import { count } from "./count-schema.js";
import { diskSchema } from "./disk-schema.js";
import { exitSchema } from "./exit-schema.js";
import { networkSchema } from "./network-schema.js";

export { diskSchema, filesystemSchema } from "./disk-schema.js";
export { exitSchema } from "./exit-schema.js";
export { networkSchema } from "./network-schema.js";

/**
 * The Evidence document: everything the probe learned about one host at one moment.
 * Versioned; every consumer (rules, planner, postmortem) reads only this, never raw tool output.
 * Sections that could not be collected are `{ status: "unavailable", reason }`.
 */
export const EVIDENCE_SCHEMA_VERSION = 1 as const;

export const processInfoSchema = z.object({
  pid: z.number().int().positive(),
  user: z.string(),
  uid: z.number().int().nonnegative(),
  /** Command line, cut to a bounded length on the host. */
  cmdline: z.string(),
  isJava: z.boolean(),
  uptimeSeconds: z.number().nonnegative().nullable(),
  /** Process CPU use over the probe's sampling interval, percent of one core. */
  cpuPercent: z.number().nonnegative().nullable(),
  /**
   * How long that interval was (ms), and what was read: `schedstat`, each thread's run time in ns (a
   * 100 ms window), or `stat`, the process's clock ticks (a 300 ms window, where schedstat is missing).
   * Absent in older evidence.
   */
  cpuSampleMs: z.number().int().nonnegative().nullable().optional(),
  cpuSource: z.enum(["schedstat", "stat"]).nullable().optional(),
  /** How the PID was found: given by the operator, or the listener of the port. */
  pidSource: z.enum(["input", "listener"]),
  /**
   * Start time in clock ticks after boot (field 22 of /proc/PID/stat). With the PID it names one
   * process: actions re-check both, so a reused PID is never acted on. Absent in older evidence.
   */
  startTicks: z.number().int().nonnegative().nullable().optional(),
  /**
   * How the PID relates to the port's LISTEN socket: `owner` (holds it), `launcher-child` (its parent
   * holds it), `none`, or `unknown` (the probe could not tell). Absent in older evidence.
   */
  listenerRelation: z.enum(["owner", "launcher-child", "none", "unknown"]).optional(),
});

export const listenerSchema = z.object({
  listening: z.boolean(),
  address: z.string().nullable(),
  /** For a LISTEN socket `ss` shows the current accept queue as Recv-Q and its maximum as Send-Q. */
  acceptQueue: z.object({ current: count, max: count }).nullable(),
});

export const fdKindsSchema = z.object({
  socket: count,
  file: count,
  pipe: count,
  anonInode: count,
  other: count,
});

export const fdsSchema = z.object({
  open: count,
  /** Soft `Max open files` from /proc/PID/limits; null means unlimited. */
  limitSoft: count.nullable(),
  limitHard: count.nullable(),
  byKind: fdKindsSchema,
  /** Most frequent regular-file targets, for file-handle leaks. */
  topFiles: z.array(z.object({ path: z.string(), count })).max(20),
});

export const idleBucketSchema = z.object({
  label: z.string(),
  minMs: count,
  /** Exclusive upper bound; null for the last, open bucket. */
  maxMs: count.nullable(),
  count,
});

export const socketsSchema = z.object({
  port: z.number().int().min(1).max(65535),
  /** Connections on the port (local port = app port), LISTEN excluded. */
  total: count,
  /** Counts by `ss` state name (ESTAB, CLOSE-WAIT, TIME-WAIT, FIN-WAIT-1, ...). */
  byState: z.record(z.string(), count),
  established: count,
  /** Idle time of ESTABLISHED sockets = ms since the last byte received (`ss -i` lastrcv). */
  idle: z.object({
    histogram: z.array(idleBucketSchema),
    /** ESTABLISHED sockets idle longer than `thresholdMs`. */
    overThreshold: count,
    thresholdMs: count,
    maxIdleMs: count.nullable(),
  }),
  /** Established sockets with bytes queued that the peer does not read (Send-Q > 0). */
  sendQueueNonEmpty: count,
  topPeers: z.array(z.object({ address: z.string(), count })).max(20),
});

export const socketSummarySchema = z.object({
  tcpTotal: count.nullable(),
  estab: count,
  closed: count,
  orphaned: count,
  timewait: count,
});

export const fileNrSchema = z.object({ allocated: count, max: z.number().nonnegative() });

export const histogramEntrySchema = z.object({
  rank: z.number().int().positive(),
  instances: count,
  bytes: count,
  className: z.string(),
  module: z.string().nullable(),
});

export const classHistogramSchema = z.object({
  /** Which tool produced it, and the exact command, since they differ in side effects. */
  tool: z.enum(["jcmd", "jmap"]),
  command: z.string(),
  /** `GC.class_histogram` and `jmap -histo:live` force a full GC first; `-all` does not. */
  forcedFullGc: z.boolean(),
  totalInstances: count,
  totalBytes: count,
  top: z.array(histogramEntrySchema).max(50),
  /** Classes the rules care about (WsSession, UpgradeProcessorInternal, ...), 0 when absent. */
  watched: z.array(z.object({ className: z.string(), instances: count, bytes: count })),
  /**
   * The WebSocket session classes the runbook named (`probe.sessionClasses`: one per server), all among
   * `watched`. Absent from probes before they were runbook data: read as Tomcat's `WsSession`
   * (lambdas/core/evidence/sessions.ts).
   */
  sessionClasses: z.array(z.string()).optional(),
  /**
   * Who spoke the attach protocol: the JDK's own tool (`jdk`: jcmd, or jmap without it), or the probe's
   * direct attach (`direct`: runbooks/lib/hotspot-attach.sh sends the same diagnostic command, with no JVM
   * started). Absent from older probes.
   */
  attachClient: z.enum(["jdk", "direct"]).optional(),
});

export const threadsSchema = z.object({
  total: count,
  byState: z.record(z.string(), count),
  requestExecutor: z.object({
    /** Name prefix of the request pool's threads, e.g. `http-nio-18080-exec-`. */
    namePrefix: z.string().nullable(),
    total: count,
    busy: count,
    idle: count,
  }),
  /** Request threads blocked in a JDBC/socket read to a database driver. */
  inDatabaseCalls: count,
  /** Threads BLOCKED on a monitor. */
  blockedOnMonitor: count,
  /**
   * Threads waiting for a pooled database connection (a `HikariPool.getConnection` frame, or Tomcat JDBC,
   * DBCP 2, c3p0 borrow frames). Absent from probes before it was counted.
   */
  waitingForDbConnection: count.optional(),
});

export const heapSchema = z.object({
  /** Percent occupancy from `jstat -gcutil`. */
  oldGenPercent: z.number().min(0).max(100),
  edenPercent: z.number().min(0).max(100),
  metaspacePercent: z.number().min(0).max(100).nullable(),
  youngGcCount: count,
  fullGcCount: count,
  fullGcTimeSeconds: z.number().nonnegative(),
  /** Full GCs that happened between the probe's two samples. */
  fullGcDuringSample: count,
  sampleIntervalMs: count,
  /** Milliseconds since the last full GC ended, at the last sample (0: one is running); null: none yet;
   *  absent: not known (jstat output, an older probe). */
  lastFullGcAgoMs: count.nullable().optional(),
});

export const healthSchema = z.object({
  url: z.string(),
  outcome: z.enum(["ok", "http-error", "timeout", "refused", "error"]),
  httpStatus: z.number().int().nullable(),
  latencyMs: count,
  detail: z.string().nullable(),
  /** How long the check waited at most, seconds (the probe's; absent: not said, older evidence). */
  timeoutSeconds: z.number().int().positive().optional(),
});

/** How the probe found the log it read (docs/rules.md, "Evidence first"). */
export const LOG_SOURCES = ["input", "stdout", "stderr", "spring-boot", "tomcat", "journald"] as const;

export const logsSchema = z.object({
  /** The file read (for the journal: `journald:_PID=<pid>`). */
  path: z.string(),
  /** Given by the operator (`input`), or discovered: the process's stdout/stderr, Spring Boot's logging
   *  settings, Tomcat's catalina.base/logs, the journal. Absent: an older probe. */
  source: z.enum(LOG_SOURCES).optional(),
  /** Why this log: one sentence (which fd, which setting, which unit). Absent: an older probe. */
  why: z.string().optional(),
  /** Discovery candidates passed over before this one, and why (a socket, a symlink, missing). */
  passedOver: z.array(z.string()).max(10).optional(),
  linesScanned: count,
  tooManyOpenFiles: count,
  outOfMemoryError: count,
  /** HikariCP's "Connection is not available, request timed out" lines. Absent from older probes. */
  connectionNotAvailable: count.optional(),
  /** `No space left on device` lines (ENOSPC). Absent: an older probe. */
  noSpaceLeft: count.optional(),
  /** A few matching lines, cut, for the record. */
  samples: z.array(z.string()).max(10),
  /** The first match in the scanned tail: its line, the time stamp of that line (or the last stamped line
   *  before it) as written, and that stamp in UTC when it could be read. Null: no match; absent: an older probe. */
  firstFailure: z
    .object({
      line: count,
      /** Which failure the first match is (the counter it was counted in). Absent: an older probe. */
      kind: z
        .enum(["tooManyOpenFiles", "outOfMemoryError", "connectionNotAvailable", "noSpaceLeft"])
        .optional(),
      stamp: z.string().nullable(),
      at: z.iso.datetime({ offset: true }).nullable(),
    })
    .nullable()
    .optional(),
});

export const tomcatSchema = z.object({
  version: z.string(),
  /** `jar`: a versioned jar name the process has open or on its command line (symlinks resolved);
   *  `properties`: `org/apache/catalina/util/ServerInfo.properties` read as data from the catalina jar;
   *  `manifest`: the jar manifest's version; `serverinfo`: the `Server version` line of the app log
   *  (fixtures). The probe never runs anything from the target to learn it. */
  source: z.enum(["jar", "cmdline", "manifest", "properties", "serverinfo"]),
});

export const hostSchema = z.object({
  hostname: z.string(),
  kernel: z.string().nullable(),
  loadAverage1m: z.number().nonnegative().nullable(),
  cpuCount: z.number().int().positive().nullable(),
});

export const evidenceSchema = z.object({
  schemaVersion: z.literal(EVIDENCE_SCHEMA_VERSION),
  collectedAt: z.iso.datetime({ offset: true }),
  target: z.string(),
  input: z.object({
    port: z.number().int().min(1).max(65535),
    pid: z.number().int().positive().nullable(),
    healthPath: z.string(),
    logPath: z.string().nullable(),
  }),
  collector: z.object({
    version: z.string(),
    durationMs: count,
    /** Sections cut short by their time box. */
    timedOut: z.array(z.string()),
    /** Characters of probe stdout, to prove the SSM inline bound holds. */
    outputChars: count,
    /** Secret redaction on the host: rules the probe applied, markers it put in its stdout and raw files. */
    redaction: z.object({ rules: count, stdout: count, raw: count }).optional(),
    /** Every cut the probe made to raw files and the log tail (`<file> <bytes> <kept>` or a sentence). */
    truncations: z.array(z.string()).optional(),
    /** The JDK attach's time box, and why it was short or skipped (fds at the limit, a full heap): the
     *  probe decides it from the evidence in hand before attaching. Absent: an older probe. */
    attach: z.object({ boxSeconds: count, why: z.string().nullable() }).optional(),
    /** When each section ran on the host (ms from the probe's start) and for how long, in start order: where the
     *  collection time goes (docs/benchmarks.md). Absent: an older probe. */
    sections: z.array(z.object({ name: z.string(), startMs: count, durationMs: count })).optional(),
  }),
  host: sectionSchema(hostSchema),
  process: sectionSchema(processInfoSchema),
  listener: sectionSchema(listenerSchema),
  fds: sectionSchema(fdsSchema),
  sockets: sectionSchema(socketsSchema),
  socketSummary: sectionSchema(socketSummarySchema),
  fileNr: sectionSchema(fileNrSchema),
  classHistogram: sectionSchema(classHistogramSchema),
  threads: sectionSchema(threadsSchema),
  heap: sectionSchema(heapSchema),
  health: healthSchema,
  logs: sectionSchema(logsSchema),
  tomcat: sectionSchema(tomcatSchema),
  /** Absent in evidence from probes before it was collected. */
  network: sectionSchema(networkSchema).optional(),
  /** Absent in evidence from older probes. */
  disk: sectionSchema(diskSchema).optional(),
  /** Absent in evidence from older probes. */
  exit: sectionSchema(exitSchema).optional(),
});

export type Evidence = z.infer<typeof evidenceSchema>;
export type ProcessInfo = z.infer<typeof processInfoSchema>;
export type Fds = z.infer<typeof fdsSchema>;
export type Sockets = z.infer<typeof socketsSchema>;
export type ClassHistogram = z.infer<typeof classHistogramSchema>;
export type Threads = z.infer<typeof threadsSchema>;
export type Heap = z.infer<typeof heapSchema>;
export type Health = z.infer<typeof healthSchema>;
export type Logs = z.infer<typeof logsSchema>;
export type TomcatInfo = z.infer<typeof tomcatSchema>;
export type SocketSummary = z.infer<typeof socketSummarySchema>;
export type Listener = z.infer<typeof listenerSchema>;
export type Network = z.infer<typeof networkSchema>;
export type Disk = z.infer<typeof diskSchema>;
export type Exit = z.infer<typeof exitSchema>;
export type Host = z.infer<typeof hostSchema>;
export type FileNr = z.infer<typeof fileNrSchema>;
