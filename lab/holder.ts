/**
 * The lab's load holder: a detached background process that opens connections to the lab app
 * and then goes silent, keeping every socket open with no traffic, until it is killed.
 *
 * - kind "ws": opens N WebSocket sessions to /ws (as fast as possible or at `rate` per second,
 *   steady or with Poisson arrivals). The server sees clients that vanished: no close frame, no FIN,
 *   nothing. With `lifetimeMs`, a session vanishes with probability `leakFraction` and otherwise
 *   closes cleanly after 0.5–1.5 × `lifetimeMs` (churn: sessions that open and close).
 * - kind "slow": sends N `GET /api/slow` requests and keeps the connections (the requests hang).
 * - kind "crawl" (heap-leak): N crawlers without cookies, each sending `GET /api/cart` one after the
 *   other (each a new session) for `maxSeconds`, while the JVM crawled (`jvmPid`) lives: the steady
 *   traffic that keeps a full heap in full GCs. Reports done at once, then crawls in the background.
 * - kind "arrivals": clients arriving at `rate` per second for `maxSeconds`, each connecting, asking
 *   `GET /health` and closing on the answer, or giving up after `timeoutMs` (listen-backlog). It reports
 *   done once `stopAfterFailures` clients could not even connect (the kernel dropped them), and keeps the
 *   arrivals going until `maxSeconds`.
 * - kind "traffic": a steady stream of `GET <path>` requests, one connection each (`Connection: close`),
 *   `rate` per second, as users keep calling an API that stopped answering; reports `done` after N requests
 *   and goes on until `maxSeconds`, then exits. A request unanswered after 65 s is given up.
 * - kind "impatient" (close-wait-inbound): N clients (32 in flight, or `rate` per second), each connecting,
 *   sending `GET <path>` and, with no answer after `giveUpMs`, giving up: it closes its socket (a FIN, as
 *   an HTTP client's read time-out does). Done after N, then exits: it holds nothing. A client that could
 *   not connect within `timeoutMs`, or got an answer (the request did not hang), counts as failed.
 *
 * Progress goes to `reportPath` as JSON (atomically replaced); the last write has `done: true`.
 * Usage: node --import tsx lab/holder.ts '<json config>'
 */
import { renameSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import WebSocket from "ws";
import * as z from "zod";
import { HolderKindSchema, type HolderReport, type StopReason } from "./schema.js";

const ConfigSchema = z.object({
  kind: HolderKindSchema,
  port: z.number().int(),
  count: z.number().int().min(1),
  rate: z.number().positive().optional(),
  timeoutMs: z.number().int().positive(),
  maxSeconds: z.number().positive(),
  stopAfterFailures: z.number().int().min(1),
  reportPath: z.string(),
  arrivals: z.enum(["steady", "poisson"]).default("steady"),
  lifetimeMs: z.number().int().positive().optional(),
  leakFraction: z.number().min(0).max(1).default(1),
  seed: z.number().int().default(1),
  /** crawl: the JVM crawled; the crawl ends when it is gone (a restart ends the incident). */
  jvmPid: z.number().int().positive().optional(),
  /** traffic: the path requested. */
  path: z.string().startsWith("/").default("/api/orders"),
  /** impatient: how long a client waits for its answer before it closes. */
  giveUpMs: z.number().int().positive().default(1000),
});
type Config = z.infer<typeof ConfigSchema>;

const config: Config = ConfigSchema.parse(JSON.parse(process.argv[2] ?? "{}"));
const started = Date.now();
const held: Array<WebSocket | net.Socket> = [];
const closing = new Set<WebSocket>();

/** A seeded generator in [0, 1) (mulberry32): a noisy load is the same noise on every run. */
const random = (() => {
  let a = config.seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
})();
const report: HolderReport = {
  kind: config.kind,
  requested: config.count,
  opened: 0,
  failed: 0,
  closedByServer: 0,
  closedByClient: 0,
  answeredOk: 0,
  done: false,
  elapsedMs: 0,
};

function writeReport(): void {
  report.elapsedMs = Date.now() - started;
  const tmp = `${config.reportPath}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(report)}\n`);
  renameSync(tmp, config.reportPath);
}

function openWs(): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${config.port}/ws`, {
      handshakeTimeout: config.timeoutMs,
      perMessageDeflate: false,
    });
    let opened = false;
    ws.on("open", () => {
      opened = true;
      // Churn: a session that does not vanish closes cleanly (close frame, FIN) after its lifetime.
      if (config.lifetimeMs !== undefined && random() >= config.leakFraction) {
        const life = config.lifetimeMs * (0.5 + random());
        setTimeout(() => {
          closing.add(ws);
          ws.close(1000);
        }, life);
      } else held.push(ws);
      resolve(true);
    });
    ws.on("error", (error) => {
      if (!opened) {
        report.lastError = error.message;
        resolve(false);
      }
    });
    ws.on("close", () => {
      if (opened && closing.has(ws)) {
        closing.delete(ws);
        report.closedByClient++;
      } else if (opened) report.closedByServer++;
      else resolve(false);
    });
  });
}

function openSlow(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port: config.port });
    let settled = false;
    const timer = setTimeout(() => {
      if (!settled) {
        settled = true;
        report.lastError = `connect not completed within ${config.timeoutMs} ms`;
        socket.destroy();
        resolve(false);
      }
    }, config.timeoutMs);
    socket.on("connect", () => {
      socket.write(
        `GET /api/slow HTTP/1.1\r\nHost: 127.0.0.1:${config.port}\r\nUser-Agent: lab-holder\r\n\r\n`,
      );
      settled = true;
      clearTimeout(timer);
      held.push(socket);
      resolve(true);
    });
    socket.on("data", () => {
      // An answer means the request did not hang; keep the socket anyway.
    });
    socket.on("error", (error) => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        report.lastError = error.message;
        resolve(false);
      }
    });
    socket.on("close", () => {
      if (settled && held.includes(socket)) report.closedByServer++;
    });
  });
}

/** impatient: connect, one request, no answer within giveUpMs → close (FIN); the request is left behind. */
function openImpatient(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port: config.port });
    let settled = false;
    const settle = (ok: boolean, error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) report.lastError = error;
      if (ok) report.closedByClient++;
      socket.destroy();
      resolve(ok);
    };
    let timer = setTimeout(
      () => settle(false, `connect not completed within ${config.timeoutMs} ms`),
      config.timeoutMs,
    );
    socket.on("connect", () => {
      clearTimeout(timer);
      socket.write(
        `GET ${config.path} HTTP/1.1\r\nHost: 127.0.0.1:${config.port}\r\nUser-Agent: lab-impatient\r\n\r\n`,
      );
      timer = setTimeout(() => settle(true), config.giveUpMs);
    });
    socket.on("data", (chunk: Buffer) =>
      settle(false, `answered: ${chunk.toString("latin1").split("\r\n")[0]}`),
    );
    socket.on("error", (error) => settle(false, error.message));
    socket.on("close", () => settle(false, "closed by the server before the client gave up"));
  });
}

/**
 * One arriving client: connect, one request, close on the answer. `unanswered`: connected (the kernel
 * queued it) but no answer in time; `dropped`: the connect itself never completed (a full accept queue
 * drops the SYN); `error`: refused or reset.
 */
function openArrival(): Promise<"answered" | "unanswered" | "dropped" | "error"> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port: config.port });
    let settled = false;
    let connected = false;
    const settle = (outcome: "answered" | "unanswered" | "dropped" | "error", error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) report.lastError = error;
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(
      () =>
        connected
          ? settle("unanswered", `connected, no answer within ${config.timeoutMs} ms`)
          : settle("dropped", `connect not completed within ${config.timeoutMs} ms`),
      config.timeoutMs,
    );
    socket.on("connect", () => {
      connected = true;
      socket.write(`GET /health HTTP/1.1\r\nHost: 127.0.0.1:${config.port}\r\nConnection: close\r\n\r\n`);
    });
    socket.on("data", () => settle("answered"));
    socket.on("error", (error) => settle("error", error.message));
    socket.on("close", () => settle("error", "closed without an answer"));
  });
}

/** arrivals: a steady stream of clients until maxSeconds; done is reported at the failure threshold. */
async function runArrivals(): Promise<void> {
  const rate = config.rate ?? 20;
  const deadline = started + config.maxSeconds * 1000;
  const pending = new Set<Promise<void>>();
  let lastWrite = 0;
  let dropped = 0;
  for (let i = 0; Date.now() < deadline; i++) {
    const wait = started + (i / rate) * 1000 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const p: Promise<void> = openArrival().then((outcome) => {
      if (outcome === "answered") report.opened++;
      else report.failed++;
      if (outcome === "dropped") dropped++;
      pending.delete(p);
      // Done when the kernel drops connections: the accept queue is full, not merely filling.
      if (!report.done && dropped >= config.stopAfterFailures) {
        report.done = true;
        report.stoppedReason = "server-stopped-accepting";
        writeReport();
      }
    });
    pending.add(p);
    if (Date.now() - lastWrite > 250) {
      lastWrite = Date.now();
      writeReport();
    }
  }
  await Promise.all(pending);
  if (!report.done) {
    report.done = true;
    report.stoppedReason = "time-limit";
  }
  writeReport();
}

async function run(): Promise<StopReason> {
  const open = config.kind === "ws" ? openWs : config.kind === "impatient" ? openImpatient : openSlow;
  // Handshakes in flight: with a rate, room for ~4 s of arrivals, so a slow (cold or loaded) server
  // delays sessions without bending the arrival schedule into a late burst.
  const window = config.rate ? Math.max(8, Math.ceil(config.rate * 4)) : 32;
  const deadline = started + config.maxSeconds * 1000;
  let issued = 0;
  let inFlight = 0;
  let lastWrite = 0;
  let reason: StopReason | undefined;
  let nextDue = 0;
  let dueFor = -1;
  const pending = new Set<Promise<void>>();
  while (issued < config.count) {
    if (report.failed >= config.stopAfterFailures) {
      reason = "server-stopped-accepting";
      break;
    }
    if (Date.now() > deadline) {
      reason = "time-limit";
      break;
    }
    if (config.rate) {
      // steady: one every 1/rate s; poisson: exponential gaps of mean 1/rate s (a noisy leak).
      if (dueFor !== issued) {
        dueFor = issued;
        if (issued > 0) {
          nextDue += config.arrivals === "poisson" ? -Math.log(1 - random()) / config.rate : 1 / config.rate;
        }
      }
      const wait = started + nextDue * 1000 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    if (inFlight >= window) {
      await Promise.race(pending);
      continue;
    }
    issued++;
    inFlight++;
    const p: Promise<void> = open().then((ok) => {
      if (ok) report.opened++;
      else report.failed++;
      inFlight--;
      pending.delete(p);
    });
    pending.add(p);
    if (Date.now() - lastWrite > 250) {
      lastWrite = Date.now();
      writeReport();
    }
  }
  await Promise.all(pending);
  if (reason) return reason;
  return report.failed >= config.stopAfterFailures ? "server-stopped-accepting" : "completed";
}

/** kind "crawl": `count` sequential crawlers for `maxSeconds`, then exit. */
function crawl(): void {
  report.opened = config.count;
  report.stoppedReason = "completed";
  report.done = true;
  writeReport();
  const deadline = started + config.maxSeconds * 1000;
  const one = () =>
    new Promise<void>((resolve) => {
      const req = http.get(
        { host: "127.0.0.1", port: config.port, path: "/api/cart", agent: false, timeout: config.timeoutMs },
        (res) => {
          res.resume();
          res.on("end", () => resolve());
          res.on("error", () => resolve());
        },
      );
      req.on("timeout", () => req.destroy());
      req.on("error", () => resolve());
    });
  const jvmAlive = () => {
    try {
      if (config.jvmPid) process.kill(config.jvmPid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const loop = async () => {
    while (Date.now() < deadline && jvmAlive()) await one();
  };
  void Promise.all(Array.from({ length: config.count }, loop)).then(() => process.exit(0));
}

/** traffic: one request per connection at `rate`; each answer (or failure) is counted. */
function sendOne(): void {
  const socket = net.connect({ host: "127.0.0.1", port: config.port });
  let answered = false;
  const giveUp = setTimeout(() => socket.destroy(), 65_000);
  socket.on("connect", () => {
    report.opened++;
    socket.write(
      `GET ${config.path} HTTP/1.1\r\nHost: 127.0.0.1:${config.port}\r\nUser-Agent: lab-traffic\r\nConnection: close\r\n\r\n`,
    );
  });
  socket.on("data", (chunk: Buffer) => {
    if (answered) return;
    answered = true;
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(chunk.toString("latin1"))?.[1];
    if (status?.startsWith("2")) report.answeredOk++;
    else {
      report.failed++;
      report.lastError = `HTTP ${status ?? "?"}`;
    }
  });
  socket.on("error", (error) => {
    if (!answered) {
      answered = true;
      report.failed++;
      report.lastError = error.message;
    }
  });
  socket.on("close", () => clearTimeout(giveUp));
}

async function runTraffic(): Promise<void> {
  const rate = config.rate ?? 2;
  const deadline = started + config.maxSeconds * 1000;
  for (let i = 0; Date.now() < deadline; i++) {
    const wait = started + (i / rate) * 1000 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    sendOne();
    if (i + 1 === config.count) {
      report.stoppedReason = "completed";
      report.done = true;
    }
    writeReport();
  }
  report.stoppedReason ??= "time-limit";
  report.done = true;
  writeReport();
  process.exit(0);
}

process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
writeReport();
if (config.kind === "crawl") crawl();
else if (config.kind === "traffic") void runTraffic();
else if (config.kind === "arrivals") {
  runArrivals()
    .catch((error: unknown) => {
      report.lastError = error instanceof Error ? error.message : String(error);
      report.stoppedReason = report.stoppedReason ?? "server-errors";
      report.done = true;
      writeReport();
    })
    .finally(() => setInterval(() => {}, 1 << 30));
} else
  run()
    .then((reason) => {
      report.stoppedReason = reason;
      report.done = true;
      writeReport();
      // Impatient clients closed every socket: nothing to hold.
      if (config.kind === "impatient") process.exit(0);
      // Go silent: keep every socket open, send nothing, until killed.
      setInterval(() => {}, 1 << 30);
    })
    .catch((error: unknown) => {
      report.lastError = error instanceof Error ? error.message : String(error);
      report.stoppedReason = "server-errors";
      report.done = true;
      writeReport();
      setInterval(() => {}, 1 << 30);
    });
