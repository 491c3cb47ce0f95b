import * as z from "zod";

/**
 * The failure modes the lab's Java app can start in. `pool-leak` and `pool-slow-db` (connection-pool
 * exhaustion: HikariCP on H2, lab/java/PoolLab.java) run in the Tomcat app; `jetty-ws-leak` runs Jetty 9.4
 * instead (lab/java/JettyLabApp.java).
 */
export const LAB_MODES = [
  "ws-leak",
  "file-leak",
  "slow",
  "healthy",
  "heap-leak",
  "close-wait",
  // issue 13 variants (h13v): async requests never completed, their clients' sockets left in CLOSE-WAIT.
  "close-wait-inbound",
  "listen-backlog",
  "pool-leak",
  "pool-slow-db",
  "jetty-ws-leak",
  // issue 13 (h13d): lab/process-disk.ts
  "process-oom-killed",
  "process-crashed",
  "process-exited",
  "disk-full",
] as const;
export const LabModeSchema = z.enum(LAB_MODES);
export type LabMode = z.infer<typeof LabModeSchema>;

const Port = z.number().int().min(1024).max(65535);

export const LabUpOptionsSchema = z.object({
  mode: LabModeSchema,
  port: Port,
  /** Open-files limit (soft and hard) the JVM starts under. */
  fdLimit: z.number().int().min(64).max(1_048_576).default(4096),
  /** Maximum heap (-Xmx), MiB. */
  heapMb: z.number().int().min(16).max(16_384).default(256),
  /** Bytes each WebSocket session retains (ws-leak). */
  sessionBytes: z
    .number()
    .int()
    .min(0)
    .max(64 * 1024 * 1024)
    .default(8192),
  /** Tomcat connector maxThreads; default 4 in `slow`, 200 (Tomcat's default) otherwise. */
  maxThreads: z.number().int().min(1).max(10_000).optional(),
  /** Tomcat connector maxConnections; default Tomcat's own (8,192): above it new connections wait in the backlog. */
  maxConnections: z.number().int().min(1).max(1_000_000).optional(),
  /** Tomcat keepAliveTimeout/connectionTimeout, ms; default Tomcat's own (60 s). */
  keepAliveMs: z.number().int().min(100).max(3_600_000).optional(),
  /** Where state lives; default `<repo>/.lab`. */
  stateDir: z.string().min(1).optional(),
  /**
   * System user the JVM runs as (as on a host where the service runs as e.g. `tomcat`); default:
   * the current user. Another user than the current one needs root.
   */
  user: z
    .string()
    .regex(/^[a-z_][a-z0-9_-]{0,31}$/, "expected a system user name (^[a-z_][a-z0-9_-]{0,31}$)")
    .optional(),
  /** How long `up` waits for /health, ms. */
  startTimeoutMs: z.number().int().min(1000).max(300_000).default(60_000),
  /**
   * Extra `-Dname=value` on the JVM's command line (tests plant secrets there, as a real service has its
   * `-Dspring.datasource.password=...`). @default none
   */
  systemProperties: z
    .record(
      z.string().regex(/^[A-Za-z][A-Za-z0-9._-]{0,100}$/, "expected a Java system property name"),
      z.string().max(500),
    )
    .default({}),
});
export type LabUpOptions = z.input<typeof LabUpOptionsSchema>;
export type LabUpConfig = z.infer<typeof LabUpOptionsSchema>;

export const LabLoadOptionsSchema = z.object({
  port: Port,
  /** ws-leak: WebSocket sessions to open (and hold). */
  sessions: z.number().int().min(1).max(100_000).optional(),
  /** Sessions or requests per second; default: as fast as possible. */
  rate: z.number().positive().max(100_000).optional(),
  /** ws sessions: `steady` (one every 1/rate s) or `poisson` (exponential gaps: a noisy leak). */
  arrivals: z.enum(["steady", "poisson"]).default("steady"),
  /**
   * ws sessions: churn. Each session vanishes with probability `leakFraction`; the others close
   * cleanly after 0.5–1.5 × this many ms. Without it every session vanishes (a pure leak).
   */
  lifetimeMs: z.number().int().min(100).max(3_600_000).optional(),
  /** With `lifetimeMs`: the share of sessions that vanish (leak); 0 = healthy churn. */
  leakFraction: z.number().min(0).max(1).default(1),
  /** Seed of the noise (Poisson gaps, which sessions leak, lifetimes). */
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31)
    .default(1),
  /**
   * file-leak / slow / healthy / heap-leak / close-wait: requests to send. pool-leak / pool-slow-db: traffic
   * requests sent before `load` returns; the traffic goes on in the background at `rate` (default 2/s)
   * until `maxSeconds`.
   */
  requests: z.number().int().min(1).max(100_000).optional(),
  /** Upper bound on the whole load, seconds. */
  maxSeconds: z.number().int().min(1).max(3600).default(120),
  /** A WebSocket upgrade / request not answered within this is a failure, ms. */
  timeoutMs: z.number().int().min(100).max(60_000).default(3000),
  /** Stop after this many failures (the server stopped accepting). */
  stopAfterFailures: z.number().int().min(1).max(10_000).default(5),
  stateDir: z.string().min(1).optional(),
});
export type LabLoadOptions = z.input<typeof LabLoadOptionsSchema>;
export type LabLoadConfig = z.infer<typeof LabLoadOptionsSchema>;

export const LabPortOptionsSchema = z.object({
  port: Port,
  stateDir: z.string().min(1).optional(),
  /** down: grace between SIGTERM and SIGKILL, ms. */
  graceMs: z.number().int().min(0).max(60_000).default(5000),
});
export type LabPortOptions = z.input<typeof LabPortOptionsSchema>;

/**
 * ws: WebSocket sessions held; slow: requests held; crawl (heap-leak), arrivals (listen-backlog), traffic (pool
 * modes); impatient (close-wait-inbound): clients that send a request, give up and close.
 */
export const HolderKindSchema = z.enum(["ws", "slow", "crawl", "arrivals", "traffic", "impatient"]);
export type HolderKind = z.infer<typeof HolderKindSchema>;

export const HolderSchema = z.object({
  pid: z.number().int(),
  kind: HolderKindSchema,
  startedAt: z.string(),
  reportPath: z.string(),
  logPath: z.string(),
});
export type Holder = z.infer<typeof HolderSchema>;

export const LabStateSchema = z.object({
  pid: z.number().int(),
  port: Port,
  mode: LabModeSchema,
  logPath: z.string(),
  fdLimit: z.number().int(),
  heapMb: z.number().int(),
  sessionBytes: z.number().int(),
  maxThreads: z.number().int(),
  startedAt: z.string(),
  stateDir: z.string(),
  /** `<stateDir>/<port>`: the log, state.json, holders' reports, Tomcat's base dir. */
  labDir: z.string(),
  command: z.array(z.string()),
  holders: z.array(HolderSchema).default([]),
  /** The user the JVM runs as, when `up` was asked for one. */
  user: z.string().optional(),
  uid: z.number().int().optional(),
});
export type LabState = z.infer<typeof LabStateSchema>;

export const StopReasonSchema = z.enum([
  "completed",
  "server-stopped-accepting",
  "time-limit",
  "server-errors",
]);
export type StopReason = z.infer<typeof StopReasonSchema>;

/** What a holder writes to its report file (progress, then `done: true`). */
export const HolderReportSchema = z.object({
  kind: HolderKindSchema,
  requested: z.number().int(),
  opened: z.number().int(),
  failed: z.number().int(),
  closedByServer: z.number().int(),
  closedByClient: z.number().int().default(0),
  /** traffic: requests answered 2xx. */
  answeredOk: z.number().int().default(0),
  done: z.boolean(),
  stoppedReason: StopReasonSchema.optional(),
  lastError: z.string().optional(),
  elapsedMs: z.number(),
});
export type HolderReport = z.infer<typeof HolderReportSchema>;

export interface LoadResult {
  port: number;
  mode: LabMode;
  kind: "ws-sessions" | "requests" | "held-requests" | "arrivals" | "traffic" | "abandoned-requests";
  requested: number;
  /** Sessions opened and held / requests answered 2xx / requests sent and held / traffic requests sent. */
  opened: number;
  failed: number;
  stoppedReason: StopReason;
  lastError?: string;
  durationMs: number;
  /** The background process keeping the sockets open, if any. */
  holderPid?: number;
}

export interface HealthProbe {
  ok: boolean;
  status?: number;
  timeMs: number;
  error?: string;
}

export interface LabStatus {
  port: number;
  running: boolean;
  state: LabState | null;
  jvmAlive: boolean;
  holdersAlive: number[];
  openFds: number | null;
  health: HealthProbe;
}
