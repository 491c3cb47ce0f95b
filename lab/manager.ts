import { spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import type * as z from "zod";
import { packageRoot } from "../lambdas/adapters/local/package-root.js";
import {
  cmdline,
  httpGet,
  isAlive,
  openFdCount,
  portBusy,
  probeHealth,
  sleep,
  stopPid,
  which,
} from "./process.js";
import { modeLoad, modeUser, type ProcessDiskMode, prepareMode, releaseMode } from "./process-disk.js";
import {
  type HolderKind,
  type HolderReport,
  HolderReportSchema,
  type LabLoadOptions,
  LabLoadOptionsSchema,
  type LabMode,
  type LabPortOptions,
  LabPortOptionsSchema,
  type LabState,
  LabStateSchema,
  type LabStatus,
  type LabUpOptions,
  LabUpOptionsSchema,
  type LoadResult,
  type StopReason,
} from "./schema.js";

/** The host preparation of a process-down or disk-full mode (lab/process-disk.ts), as a LabError. */
function modeSetup(mode: LabMode, dir: string, port: number) {
  try {
    return prepareMode(mode, dir, port);
  } catch (e) {
    throw new LabError((e as Error).message, "environment");
  }
}

/** The repository (found from package.json, so the lab also works from the tests' bundled CLI). */
export const REPO_ROOT = packageRoot();
export const DEFAULT_STATE_DIR = path.join(REPO_ROOT, ".lab");
export const JAR_DIR = process.env.LAB_JAR_DIR ?? "/usr/share/java";
export const REQUIRED_JARS = [
  "tomcat10-embed-core.jar",
  "tomcat10-embed-websocket.jar",
  "tomcat10-embed-el.jar",
  "jakarta-annotation-api.jar",
  // pool modes: HikariCP on H2 (lab/java/PoolLab.java)
  "HikariCP.jar",
  "h2.jar",
  "slf4j-api.jar",
  "slf4j-jdk14.jar",
  // jetty-ws-leak (lab/java/JettyLabApp.java); the full list is scripts/build-lab.sh's
  "jetty9-server.jar",
  "jetty9-websocket-server.jar",
  "servlet-api.jar",
] as const;

/** The Java main class of each mode: Jetty modes run JettyLabApp, the others the Tomcat LabApp. */
export function mainClassOf(mode: LabMode): "LabApp" | "JettyLabApp" {
  return mode === "jetty-ws-leak" ? "JettyLabApp" : "LabApp";
}

/**
 * The class path of a mode: the lab's classes, then only its server's jars (build-lab.sh prints them all), so
 * a Jetty service carries no Tomcat jar and a Tomcat one no Jetty jar, as on a real host.
 */
export function classpathFor(mode: LabMode, classpath: string): string {
  const jetty = /\/(jetty9-[^/]*|servlet-api)\.jar$/;
  const tomcatOnly = /\/(tomcat10-[^/]*|jakarta-[^/]*|HikariCP|h2)\.jar$/;
  const [classes = "", ...jars] = classpath.split(":");
  const keep =
    mainClassOf(mode) === "JettyLabApp"
      ? jars.filter((j) => !tomcatOnly.test(j))
      : jars.filter((j) => !jetty.test(j));
  return [classes, ...keep].join(":");
}

/** HikariCP's default maximumPoolSize, which the pool lab keeps: pool-leak leaks this many connections. */
export const LAB_POOL_SIZE = 10;

/** A lab problem the CLI turns into one line on stderr (kind picks the exit code). */
export class LabError extends Error {
  override name = "LabError";
  constructor(
    message: string,
    readonly kind: "usage" | "environment" | "runtime" = "runtime",
  ) {
    super(message);
  }
}

function parse<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.map(String).join(".")}: ` : "";
  throw new LabError(`invalid lab option: ${where}${issue?.message ?? "invalid"}`, "usage");
}

export function labDir(stateDir: string | undefined, port: number): string {
  return path.join(path.resolve(stateDir ?? DEFAULT_STATE_DIR), String(port));
}

function statePath(dir: string): string {
  return path.join(dir, "state.json");
}

export function readState(stateDir: string | undefined, port: number): LabState | null {
  const file = statePath(labDir(stateDir, port));
  if (!existsSync(file)) return null;
  return LabStateSchema.parse(JSON.parse(readFileSync(file, "utf8")));
}

function writeState(state: LabState): void {
  const file = statePath(state.labDir);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  // rename is atomic; readers never see half a file
  renameSync(`${file}.tmp`, file);
}

/** Checks the JDK and the Tomcat jars; throws one clear LabError naming what is missing. */
export function checkJdk(): { java: string; javac: string } {
  const java = which("java");
  const javac = which("javac");
  if (!java || !javac) {
    const missing = [!java && "java", !javac && "javac"].filter(Boolean).join(" and ");
    throw new LabError(
      `JDK not found: no ${missing} on PATH (install a JDK 17, e.g. default-jdk-headless: scripts/setup.sh)`,
      "environment",
    );
  }
  const absent = REQUIRED_JARS.filter((j) => !existsSync(path.join(JAR_DIR, j)));
  if (absent.length > 0) {
    throw new LabError(
      `lab jars missing in ${JAR_DIR}: ${absent.join(", ")} (install libtomcat10-embed-java, libjakarta-annotation-api-java, libhikaricp-java, libh2-java, libslf4j-java, libjetty9-java, libjetty9-extra-java, libservlet-api-java: scripts/setup.sh)`,
      "environment",
    );
  }
  return { java, javac };
}

/** Runs scripts/build-lab.sh (compiles only when sources changed) and returns the classpath. */
export function buildLab(): string {
  const r = spawnSync("bash", [path.join(REPO_ROOT, "scripts/build-lab.sh")], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    env: { ...process.env, LAB_JAR_DIR: JAR_DIR },
  });
  if (r.status !== 0) {
    const lastLine = (r.stderr ?? "").trim().split("\n").pop() ?? "";
    throw new LabError(`building the lab app failed: ${lastLine || `exit ${r.status}`}`, "environment");
  }
  const cp = r.stdout.trim().split("\n").pop();
  if (!cp) throw new LabError("building the lab app printed no classpath", "environment");
  return cp;
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

/** A user to start the JVM as (see `resolveRunAs`). */
interface RunAs {
  user: string;
  uid: number;
  gid: number;
  home: string;
}

/**
 * The user the JVM must run as, or null when that is the current user (nothing to switch).
 * Another user needs root: only root can drop to it, and only root can set the hard fd limit.
 */
function resolveRunAs(name: string | undefined): RunAs | null {
  if (name === undefined) return null;
  const r = spawnSync("getent", ["passwd", name], { encoding: "utf8" });
  const fields = (r.status === 0 ? (r.stdout.split("\n")[0] ?? "") : "").split(":");
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  if (fields.length < 7 || !Number.isInteger(uid) || !Number.isInteger(gid)) {
    throw new LabError(`no such user: ${name} (getent passwd ${name} found nothing)`, "usage");
  }
  const me = process.getuid?.();
  if (uid === me) return null;
  if (me !== 0) {
    throw new LabError(`starting the lab as user ${name} needs root (running as uid ${me})`, "usage");
  }
  return { user: name, uid, gid, home: fields[5] || "/" };
}

/** The JVM started under runuser, which stays as its parent: its own PID is runuser's child's. */
async function childJvmPid(parent: number, timeoutMs: number): Promise<number | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && isAlive(parent)) {
    try {
      const kids = readFileSync(`/proc/${parent}/task/${parent}/children`, "utf8").trim().split(/\s+/);
      const jvm = kids.map(Number).find((k) => k > 0 && cmdline(k).includes("LabApp"));
      if (jvm) return jvm;
    } catch {
      // not there yet
    }
    await sleep(50);
  }
  return null;
}

function runChecked(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) {
    throw new LabError(
      `${cmd} ${args.join(" ")} failed: ${(r.stderr ?? "").trim() || `exit ${r.status}`}`,
      "runtime",
    );
  }
}

/** Starts the lab's Tomcat app in `mode` under the open-files limit and heap; waits for /health. */
export async function labUp(opts: LabUpOptions): Promise<LabState> {
  const o = parse(LabUpOptionsSchema, opts);
  const stateDir = path.resolve(o.stateDir ?? DEFAULT_STATE_DIR);
  const dir = labDir(stateDir, o.port);
  const existing = readState(stateDir, o.port);
  if (existing && isAlive(existing.pid)) {
    throw new LabError(
      `a lab is already running on port ${o.port} (pid ${existing.pid}); run: runbook lab down --port ${o.port}`,
      "usage",
    );
  }
  if (await portBusy(o.port)) {
    throw new LabError(`port ${o.port} is busy: something already listens on 127.0.0.1:${o.port}`, "usage");
  }
  const runAs = resolveRunAs(o.user ?? modeUser(o.mode) ?? undefined);
  checkJdk();
  const classpath = buildLab();
  mkdirSync(dir, { recursive: true });
  const setup = modeSetup(o.mode, dir, o.port);
  const maxThreads = o.maxThreads ?? (o.mode === "slow" ? 4 : 200);
  const logPath = setup.logPath ?? path.join(dir, "app.log");
  const javaArgs = [
    `-Xmx${o.heapMb}m`,
    "-XX:+UseSerialGC",
    // C1 only: a lab JVM lives for seconds to minutes, and C2's compiler threads were most of its CPU
    // (start-up and the first thousands of handshakes) on a 2-core machine shared by three test files.
    "-XX:TieredStopAtLevel=1",
    "-Djava.awt.headless=true",
    ...setup.jvmArgs,
    ...Object.entries(o.systemProperties).map(([name, value]) => `-D${name}=${value}`),
    "-cp",
    classpathFor(o.mode, classpath),
    mainClassOf(o.mode),
    "--mode",
    o.mode,
    "--port",
    String(o.port),
    "--session-bytes",
    String(o.sessionBytes),
    "--max-threads",
    String(maxThreads),
    "--keep-alive-ms",
    String(o.keepAliveMs ?? 0),
    "--max-connections",
    String(o.maxConnections ?? 0),
    "--data-dir",
    dir,
    ...setup.appArgs,
  ];
  // ulimit -n sets the soft and hard limit; exec keeps the PID, so the JVM's PID is the child's.
  // As another user the limit is set while still root (a non-root user cannot raise its hard
  // limit), then setpriv drops to the user and execs java: the PID stays the JVM's. Without
  // setpriv, runuser does it but stays as the JVM's parent (childJvmPid finds the JVM).
  const setpriv = runAs ? which("setpriv") : null;
  const drop = !runAs
    ? ""
    : setpriv
      ? `setpriv --reuid=${runAs.uid} --regid=${runAs.gid} --init-groups -- `
      : `runuser -u ${runAs.user} -- `;
  const command = [
    "bash",
    "-c",
    `ulimit -n ${o.fdLimit} && ${setup.shellPrefix}exec ${drop}java "$@"`,
    "lab-java",
    ...javaArgs,
  ];
  // A fresh log per run (the previous run's log is kept as app.log.1).
  if (existsSync(logPath)) renameSync(logPath, `${logPath}.1`);
  // O_APPEND: a line added by another writer (a test planting a secret) is never overwritten by the JVM.
  const logFd = openSync(logPath, "a");
  let child: ReturnType<typeof spawn>;
  try {
    if (runAs) {
      // The JVM writes its data dir, Tomcat's base dir and the version file there; it reads the classes.
      runChecked("chown", ["-R", `${runAs.uid}:${runAs.gid}`, dir]);
      runChecked("chmod", ["-R", "a+rX", classpath.split(":")[0] as string]);
    }
    child = spawn(command[0] as string, command.slice(1), {
      cwd: setup.cwd ?? dir,
      detached: true,
      stdio: ["ignore", logFd, logFd],
      ...(runAs ? { env: { ...process.env, HOME: runAs.home, USER: runAs.user, LOGNAME: runAs.user } } : {}),
    });
  } finally {
    closeSync(logFd);
  }
  let pid = child.pid;
  if (pid === undefined) throw new LabError("could not start java", "runtime");
  child.unref();
  if (runAs && !setpriv) {
    const jvm = await childJvmPid(pid, 5000);
    if (jvm === null) {
      await stopPid(pid, 2000);
      throw new LabError(`the lab app did not start as ${runAs.user}; log ${logPath}: ${tail(logPath, 1)}`);
    }
    pid = jvm;
  }
  const state: LabState = {
    pid,
    port: o.port,
    mode: o.mode,
    logPath,
    fdLimit: o.fdLimit,
    heapMb: o.heapMb,
    sessionBytes: o.sessionBytes,
    maxThreads,
    startedAt: new Date().toISOString(),
    stateDir,
    labDir: dir,
    command,
    // Load holders of the run this one replaces (a restart through `lab up`) stay ours to stop.
    holders: existing ? existing.holders.filter((h) => isAlive(h.pid)) : [],
    ...(runAs ? { user: runAs.user, uid: runAs.uid } : {}),
  };
  writeState(state);

  const deadline = Date.now() + o.startTimeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) {
      rmSync(statePath(dir), { force: true });
      releaseMode(state);
      throw new LabError(`the lab app exited during start; log ${logPath}: ${tail(logPath, 1)}`, "runtime");
    }
    const h = await probeHealth(o.port, 1000);
    if (h.ok) return state;
    await sleep(200);
  }
  await stopPid(pid, 2000);
  rmSync(statePath(dir), { force: true });
  releaseMode(state);
  throw new LabError(
    `the lab app did not answer /health within ${o.startTimeoutMs} ms; log ${logPath}`,
    "runtime",
  );
}

function requireState(stateDir: string | undefined, port: number): LabState {
  const state = readState(stateDir, port);
  if (!state || !isAlive(state.pid)) {
    throw new LabError(
      `no lab running on port ${port} (start one: runbook lab up --port ${port} --mode ...)`,
      "usage",
    );
  }
  return state;
}

function readReport(file: string): HolderReport | null {
  try {
    return HolderReportSchema.parse(JSON.parse(readFileSync(file, "utf8")));
  } catch {
    return null;
  }
}

async function startHolder(
  state: LabState,
  kind: HolderKind,
  cfg: LoadConfig & {
    arrivals?: string;
    lifetimeMs?: number;
    leakFraction?: number;
    seed?: number;
    jvmPid?: number;
    path?: string;
  },
): Promise<LoadResult> {
  const n = state.holders.length + 1;
  const reportPath = path.join(state.labDir, `holder-${n}.json`);
  const logPath = path.join(state.labDir, `holder-${n}.log`);
  rmSync(reportPath, { force: true });
  const holderConfig = JSON.stringify({ kind, port: state.port, reportPath, ...cfg });
  const logFd = openSync(logPath, "a");
  let child: ReturnType<typeof spawn>;
  try {
    // The holder needs one fd per socket: raise its limit (the hard limit too, as root).
    child = spawn(
      "bash",
      [
        "-c",
        'ulimit -n 65535 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"',
        process.execPath,
        "--import",
        "tsx",
        path.join(REPO_ROOT, "lab/holder.ts"),
        holderConfig,
      ],
      { cwd: REPO_ROOT, detached: true, stdio: ["ignore", logFd, logFd] },
    );
  } finally {
    closeSync(logFd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new LabError("could not start the load holder", "runtime");
  child.unref();
  state.holders.push({ pid, kind, startedAt: new Date().toISOString(), reportPath, logPath });
  writeState(state);

  const started = Date.now();
  const deadline = started + cfg.maxSeconds * 1000 + cfg.timeoutMs + 15_000;
  let report: HolderReport | null = null;
  while (Date.now() < deadline) {
    report = readReport(reportPath);
    if (report?.done) break;
    if (!isAlive(pid)) {
      throw new LabError(`the load holder exited early; log ${logPath}: ${tail(logPath, 1)}`, "runtime");
    }
    await sleep(100);
  }
  const r = report ?? {
    opened: 0,
    failed: 0,
    requested: cfg.count,
    stoppedReason: "time-limit" as StopReason,
    lastError: "no report from the holder",
  };
  return {
    port: state.port,
    mode: state.mode,
    kind:
      kind === "ws"
        ? "ws-sessions"
        : kind === "arrivals"
          ? "arrivals"
          : kind === "traffic"
            ? "traffic"
            : kind === "impatient"
              ? "abandoned-requests"
              : "held-requests",
    requested: cfg.count,
    opened: r.opened,
    failed: r.failed,
    stoppedReason: report?.done ? (r.stoppedReason ?? "completed") : "time-limit",
    ...(r.lastError ? { lastError: r.lastError } : {}),
    durationMs: Date.now() - started,
    holderPid: pid,
  };
}

type LoadConfig = {
  count: number;
  rate?: number;
  timeoutMs: number;
  maxSeconds: number;
  stopAfterFailures: number;
};

async function sendRequests(state: LabState, urlPath: string, cfg: LoadConfig): Promise<LoadResult> {
  const started = Date.now();
  const deadline = started + cfg.maxSeconds * 1000;
  let opened = 0;
  let failed = 0;
  let consecutive = 0;
  let lastError: string | undefined;
  let reason: StopReason = "completed";
  for (let i = 0; i < cfg.count; i++) {
    if (Date.now() > deadline) {
      reason = "time-limit";
      break;
    }
    if (cfg.rate) {
      const wait = started + (i / cfg.rate) * 1000 - Date.now();
      if (wait > 0) await sleep(wait);
    }
    try {
      const r = await httpGet(state.port, urlPath, cfg.timeoutMs);
      if (r.status >= 200 && r.status < 300) {
        opened++;
        consecutive = 0;
        continue;
      }
      lastError = `HTTP ${r.status}`;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    failed++;
    consecutive++;
    if (consecutive >= cfg.stopAfterFailures) {
      reason = /no answer|ECONNREFUSED|ECONNRESET/.test(lastError ?? "")
        ? "server-stopped-accepting"
        : "server-errors";
      break;
    }
  }
  return {
    port: state.port,
    mode: state.mode,
    kind: "requests",
    requested: cfg.count,
    opened,
    failed,
    stoppedReason: reason,
    ...(lastError ? { lastError } : {}),
    durationMs: Date.now() - started,
  };
}

/** file-leak at its limit: at most this many sessions take the fds left (a few are, normally one or two)... */
const FILE_LEAK_PIN_SESSIONS = 64;
/** ... in at most this many rounds, until at most one fd is free once no socket is closing. */
const FILE_LEAK_PIN_ROUNDS = 3;

/**
 * The process's open fds, and how many of them are connections on their way out: sockets that are not a
 * TCP listener, not an ESTABLISHED connection (/proc/net/tcp, tcp6: state 0A, 01) and not a Unix socket
 * (/proc/net/unix). A socket Tomcat has shut down but not closed stays in FIN-WAIT-1 with its fd held, one
 * whose client has gone waits in CLOSE-WAIT, and one reset by its peer is no longer listed at all: each
 * frees an fd when Tomcat gets to it. An ESTABLISHED connection is a client still there, holding its fd as
 * long as it stays.
 */
function fdCensus(pid: number): { open: number; closing: number } {
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return { open: 0, closing: 0 };
  }
  const sockets: string[] = [];
  for (const fd of fds) {
    let target = "";
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    if (target.startsWith("socket:[")) sockets.push(target.slice(8, -1));
  }
  const atRest = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6", "/proc/net/unix"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    const unix = table.endsWith("unix");
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      const inode = unix ? f[6] : f[9];
      if (inode && (unix || f[3] === "0A" || f[3] === "01")) atRest.add(inode);
    }
  }
  return { open: fds.length, closing: sockets.filter((inode) => !atRest.has(inode)).length };
}

/**
 * Until no connection of the JVM is on its way out and its count of open fds has not changed for 300 ms (at
 * most 30 s); returns that count (at the deadline, the last one). Tomcat closes a connection's socket a
 * while after its client has gone.
 */
async function untilNoSocketCloses(state: LabState): Promise<number> {
  const deadline = Date.now() + 30_000;
  let last = fdCensus(state.pid).open;
  let since = Date.now();
  while (Date.now() < deadline) {
    await sleep(50);
    const { open, closing } = fdCensus(state.pid);
    if (open !== last || closing > 0) {
      last = open;
      since = Date.now();
    } else if (Date.now() - since >= 300) break;
  }
  return last;
}

/**
 * file-leak, once the exports fail: the lab ends where a real leak ends, with no fd left and /health
 * failing. The exports fail while an fd or two is still free (a request's socket takes one, and Tomcat
 * closes sockets late: one it has shut down stays in FIN-WAIT-1 with its fd), so a load that stopped there
 * left the lab at its edge, where /health (a socket and the version file it reads) answered 200 whenever
 * two were free: not down (the e2e run test saw it once in a few dozen runs: exit 0, "not down"). So, as
 * a real service's other clients would: once no socket is closing, WebSocket sessions (held, no idle
 * timeout in this mode) take every fd that is left; a holder stops when two in a row are not accepted, and
 * another follows while two or more fds are free again once the sockets have settled.
 */
async function pinAtFdLimit(
  state: LabState,
  sent: LoadResult,
  ws: Omit<Parameters<typeof startHolder>[2], "count">,
): Promise<LoadResult> {
  const t0 = Date.now();
  let holderPid: number | undefined;
  // A session whose handshake the holder gave up on (a loaded machine) is closed by Tomcat afterwards and
  // gives its fd back: another round then takes it. Bounded by FILE_LEAK_PIN_ROUNDS.
  for (let round = 0; round < FILE_LEAK_PIN_ROUNDS; round++) {
    const open = await untilNoSocketCloses(state);
    if (round > 0 && state.fdLimit - open <= 1) break;
    const pin = await startHolder(state, "ws", {
      ...ws,
      count: FILE_LEAK_PIN_SESSIONS,
      timeoutMs: 2000,
      stopAfterFailures: 2,
    });
    holderPid ??= pin.holderPid;
  }
  return {
    ...sent,
    durationMs: sent.durationMs + (Date.now() - t0),
    ...(holderPid ? { holderPid } : {}),
  };
}

const DEFAULT_LOAD: Record<Exclude<LabMode, ProcessDiskMode>, number> = {
  "ws-leak": 2000,
  "file-leak": 2000,
  slow: 0,
  healthy: 200,
  // heap-leak: cookie-less requests, a new session and cart each, until the heap is full (they fail).
  "heap-leak": 5000,
  "close-wait": 2000,
  "close-wait-inbound": 2000,
  "listen-backlog": 0,
  "jetty-ws-leak": 2000,
  // Traffic requests before `load` returns (2 a second): enough to have requests waiting on the pool.
  "pool-leak": 20,
  "pool-slow-db": 30,
};

/** heap-leak: crawlers that keep requesting /api/cart after the heap is full. */
const HEAP_LEAK_CRAWLERS = 6;
/** listen-backlog: clients per second, and for how long they keep arriving (the diagnosis runs meanwhile). */
const ARRIVALS = { rate: 20, seconds: 300 };

/** Drives the running lab into its failure: opens and holds sessions, or sends requests. */
export async function labLoad(opts: LabLoadOptions): Promise<LoadResult> {
  const o = parse(LabLoadOptionsSchema, opts);
  const state = requireState(o.stateDir, o.port);
  const cfg = {
    ...(o.rate ? { rate: o.rate } : {}),
    timeoutMs: o.timeoutMs,
    maxSeconds: o.maxSeconds,
    stopAfterFailures: o.stopAfterFailures,
  };
  const ws = {
    ...cfg,
    arrivals: o.arrivals,
    leakFraction: o.leakFraction,
    seed: o.seed,
    ...(o.lifetimeMs ? { lifetimeMs: o.lifetimeMs } : {}),
  };
  const traffic = (mode: "pool-leak" | "pool-slow-db") => ({
    ...cfg,
    rate: o.rate ?? 2,
    count: o.requests ?? DEFAULT_LOAD[mode],
    path: "/api/orders",
  });
  switch (state.mode) {
    case "ws-leak":
    case "jetty-ws-leak":
      return startHolder(state, "ws", { ...ws, count: o.sessions ?? o.requests ?? DEFAULT_LOAD[state.mode] });
    case "pool-leak": {
      // The buggy endpoint first: each call leaks one connection, until the pool is empty.
      const leaked = await sendRequests(state, "/api/report", { ...cfg, count: LAB_POOL_SIZE });
      if (leaked.opened < LAB_POOL_SIZE) {
        throw new LabError(
          `pool-leak: only ${leaked.opened} of ${LAB_POOL_SIZE} report calls answered (${leaked.lastError ?? "no error"})`,
        );
      }
      // Then users' traffic on a correct endpoint, which now waits for a connection.
      return startHolder(state, "traffic", traffic("pool-leak"));
    }
    case "pool-slow-db":
      return startHolder(state, "traffic", traffic("pool-slow-db"));
    case "slow":
      // Enough to take every request thread, plus a few queued behind them.
      return startHolder(state, "slow", { ...cfg, count: o.requests ?? o.sessions ?? state.maxThreads + 4 });
    case "file-leak": {
      const sent = await sendRequests(state, "/api/export", {
        ...cfg,
        count: o.requests ?? DEFAULT_LOAD["file-leak"],
      });
      // A load that did not reach the limit (fewer requests asked) is a partial leak, left as it is.
      if (sent.stoppedReason === "completed" || sent.stoppedReason === "time-limit") return sent;
      return pinAtFdLimit(state, sent, ws);
    }
    case "heap-leak": {
      // Cookie-less requests until they fail (the heap is full of carts), then crawlers that keep coming,
      // as they do, so the full heap stays in full GCs (for the load's maxSeconds).
      const fill = await sendRequests(state, "/api/cart", {
        ...cfg,
        count: o.requests ?? DEFAULT_LOAD["heap-leak"],
      });
      const crawl = await startHolder(state, "crawl", {
        ...cfg,
        count: HEAP_LEAK_CRAWLERS,
        jvmPid: state.pid,
      });
      return { ...fill, ...(crawl.holderPid ? { holderPid: crawl.holderPid } : {}) };
    }
    case "close-wait":
      // Each call leaves one upstream connection in CLOSE-WAIT.
      return sendRequests(state, "/api/quote", { ...cfg, count: o.requests ?? DEFAULT_LOAD["close-wait"] });
    case "close-wait-inbound":
      // Clients that wait 1 s for a long poll that never answers, then close: one CLOSE-WAIT socket each.
      return startHolder(state, "impatient", {
        ...cfg,
        count: o.requests ?? DEFAULT_LOAD["close-wait-inbound"],
        path: "/api/events",
      });
    case "listen-backlog": {
      // The fault switch, then real clients arriving until the accept queue overflows (and on).
      const stall = await httpGet(state.port, "/lab/stall-acceptor", o.timeoutMs);
      if (stall.status !== 200)
        throw new LabError(`the lab did not stall its acceptor: HTTP ${stall.status}`);
      const rate = o.rate ?? ARRIVALS.rate;
      const seconds = opts.maxSeconds ?? ARRIVALS.seconds;
      return startHolder(state, "arrivals", {
        ...cfg,
        rate,
        maxSeconds: seconds,
        count: o.requests ?? Math.ceil(rate * seconds),
      });
    }
    case "healthy":
      // Sessions asked of a healthy lab: WebSocket churn (they close after their lifetime or idle timeout).
      if (o.sessions) return startHolder(state, "ws", { ...ws, count: o.sessions });
      return sendRequests(state, "/api/export", { ...cfg, count: o.requests ?? DEFAULT_LOAD.healthy });
    case "process-oom-killed":
    case "process-crashed":
    case "process-exited":
    case "disk-full": {
      const load = modeLoad(state.mode);
      return sendRequests(state, load.path, { ...cfg, count: o.requests ?? load.count });
    }
  }
}

/** Stops the processes this lab started (holders, then the JVM), by PID; removes the state. */
export async function labDown(opts: LabPortOptions): Promise<{ stopped: number[] }> {
  const o = parse(LabPortOptionsSchema, opts);
  const state = readState(o.stateDir, o.port);
  if (!state) return { stopped: [] };
  const stopped: number[] = [];
  // The JVM first: stopping the holders first would make every held session end in an error
  // the app logs, burying the incident in the log.
  const targets: Array<{ pid: number; marker: string }> = [
    { pid: state.pid, marker: "LabApp" },
    ...state.holders.map((h) => ({ pid: h.pid, marker: "holder.ts" })),
  ];
  for (const t of targets) {
    // Guard against PID reuse: only stop a process that is still ours.
    if (!isAlive(t.pid) || !cmdline(t.pid).includes(t.marker)) continue;
    if (await stopPid(t.pid, o.graceMs)) stopped.push(t.pid);
  }
  rmSync(statePath(state.labDir), { force: true });
  releaseMode(state);
  for (const h of state.holders) rmSync(h.reportPath, { force: true });
  return { stopped };
}

/** What runs on the port, its open fds and a health probe. */
export async function labStatus(opts: LabPortOptions & { healthTimeoutMs?: number }): Promise<LabStatus> {
  const o = parse(LabPortOptionsSchema, opts);
  const state = readState(o.stateDir, o.port);
  const jvmAlive = state ? isAlive(state.pid) : false;
  return {
    port: o.port,
    running: jvmAlive,
    state,
    jvmAlive,
    holdersAlive: state ? state.holders.filter((h) => isAlive(h.pid)).map((h) => h.pid) : [],
    openFds: state && jvmAlive ? openFdCount(state.pid) : null,
    health: await probeHealth(o.port, opts.healthTimeoutMs ?? 3000),
  };
}
