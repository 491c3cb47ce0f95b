import { type Command, InvalidArgumentError } from "commander";
import { LAB_MODES, LabError, labDown, labLoad, labStatus, labUp } from "../../lab/index.js";
import { CliError, UsageError } from "../errors.js";

function int(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`not a whole number: ${value}`);
  return Number(value);
}

function num(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`not a positive number: ${value}`);
  return n;
}

/** Runs a lab action, turning LabErrors into the CLI's one-line errors. */
async function run<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof LabError) {
      if (error.kind === "usage") throw new UsageError(error.message, { cause: error });
      throw new CliError(error.message, error.kind === "environment" ? 3 : 1, { cause: error });
    }
    throw error;
  }
}

function print(json: boolean, value: unknown, lines: string[]): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${lines.join("\n")}\n`);
}

export function registerLabCommand(program: Command): void {
  const lab = program
    .command("lab")
    .description(
      "Reproduction lab: a real embedded Tomcat 10 app driven into a chosen failure (see docs/lab.md)",
    );
  registerLabUp(lab);
  registerLabLoad(lab);
  registerLabDown(lab);
  registerLabStatus(lab);
}

/** `runbook lab up`: start the lab app in a failure mode. */
function registerLabUp(lab: Command): void {
  lab
    .command("up")
    .description("start the lab app in a failure mode and wait until /health answers")
    .requiredOption("--mode <mode>", `failure mode: ${LAB_MODES.join(" | ")}`)
    .requiredOption("--port <port>", "port on 127.0.0.1", int)
    .option("--fd-limit <n>", "open-files limit (ulimit -n) of the JVM", int, 4096)
    .option("--heap-mb <n>", "maximum heap (-Xmx), MiB", int, 256)
    .option("--session-bytes <n>", "bytes each session retains (ws-leak; heap-leak: a cart)", int, 8192)
    .option("--max-threads <n>", "Tomcat maxThreads (default 4 in slow, else 200)", int)
    .option("--keep-alive-ms <ms>", "Tomcat keepAliveTimeout/connectionTimeout (default Tomcat's 60 s)", int)
    .option("--max-connections <n>", "Tomcat maxConnections (default Tomcat's 8,192)", int)
    .option("--user <name>", "run the JVM as this system user (needs root; default: the current user)")
    .option("--state-dir <dir>", "state directory (default <repo>/.lab)")
    .option("--json", "print JSON")
    .action(async (o) => {
      if (!(LAB_MODES as readonly string[]).includes(o.mode)) {
        throw new UsageError(`unknown lab mode "${o.mode}" (expected one of: ${LAB_MODES.join(", ")})`);
      }
      const state = await run(() =>
        labUp({
          mode: o.mode,
          port: o.port,
          fdLimit: o.fdLimit,
          heapMb: o.heapMb,
          sessionBytes: o.sessionBytes,
          maxThreads: o.maxThreads,
          keepAliveMs: o.keepAliveMs,
          maxConnections: o.maxConnections,
          user: o.user,
          stateDir: o.stateDir,
        }),
      );
      print(Boolean(o.json), state, [
        `lab up: mode ${state.mode}, pid ${state.pid}${state.user ? ` (user ${state.user})` : ""}, http://127.0.0.1:${state.port}/health answers`,
        `  open-files limit ${state.fdLimit}, heap ${state.heapMb} MiB, maxThreads ${state.maxThreads}, session bytes ${state.sessionBytes}`,
        `  log ${state.logPath}`,
      ]);
    });
}

/** `runbook lab load`: drive the running lab into its failure. */
function registerLabLoad(lab: Command): void {
  lab
    .command("load")
    .description("drive the running lab into its failure (open and hold sessions, or send requests)")
    .requiredOption("--port <port>", "port of the running lab", int)
    .option("--sessions <n>", "ws-leak: WebSocket sessions to open and hold", int)
    .option("--requests <n>", "file-leak/slow/healthy/heap-leak/close-wait: requests to send", int)
    .option("--rate <n>", "per second (default: as fast as possible; listen-backlog: 20 clients)", num)
    .option("--arrivals <kind>", "ws sessions at --rate: steady, or poisson (a noisy leak)", "steady")
    .option("--session-lifetime-ms <n>", "ws churn: sessions that do not leak close after ~this long", int)
    .option(
      "--leak-fraction <f>",
      "with --session-lifetime-ms: share of sessions that vanish (0 = healthy churn)",
      num,
    )
    .option("--max-seconds <n>", "upper bound on the load, seconds", int, 120)
    .option("--state-dir <dir>", "state directory (default <repo>/.lab)")
    .option("--json", "print JSON")
    .action(async (o) => {
      const r = await run(() =>
        labLoad({
          port: o.port,
          sessions: o.sessions,
          requests: o.requests,
          rate: o.rate,
          arrivals: o.arrivals,
          lifetimeMs: o.sessionLifetimeMs,
          leakFraction: o.leakFraction,
          maxSeconds: o.maxSeconds,
          stateDir: o.stateDir,
        }),
      );
      const what =
        r.kind === "ws-sessions"
          ? "sessions opened and held"
          : r.kind === "requests"
            ? "requests answered"
            : r.kind === "abandoned-requests"
              ? "requests sent and abandoned (the client closed, unanswered)"
              : "requests sent and held";
      print(Boolean(o.json), r, [
        `lab load: ${r.opened}/${r.requested} ${what}, ${r.failed} failed, stopped: ${r.stoppedReason} (${(r.durationMs / 1000).toFixed(1)} s)`,
        ...(r.lastError ? [`  last error: ${r.lastError}`] : []),
        ...(r.holderPid && r.kind !== "abandoned-requests"
          ? [`  holder pid ${r.holderPid} keeps the sockets open until: runbook lab down --port ${r.port}`]
          : []),
      ]);
    });
}

/** `runbook lab down`: stop the lab and its load holders. */
function registerLabDown(lab: Command): void {
  lab
    .command("down")
    .description("stop the lab app and its load holders (by PID) and remove the state")
    .requiredOption("--port <port>", "port of the lab", int)
    .option("--state-dir <dir>", "state directory (default <repo>/.lab)")
    .option("--json", "print JSON")
    .action(async (o) => {
      const r = await run(() => labDown({ port: o.port, stateDir: o.stateDir }));
      print(Boolean(o.json), r, [
        r.stopped.length > 0
          ? `lab down: stopped pid ${r.stopped.join(", ")}`
          : `lab down: nothing running on port ${o.port}`,
      ]);
    });
}

/** `runbook lab status`: the lab on a port. */
function registerLabStatus(lab: Command): void {
  lab
    .command("status")
    .description("show the lab on a port: processes, open fds vs the limit, a health probe")
    .requiredOption("--port <port>", "port of the lab", int)
    .option("--state-dir <dir>", "state directory (default <repo>/.lab)")
    .option("--json", "print JSON")
    .action(async (o) => {
      const s = await run(() => labStatus({ port: o.port, stateDir: o.stateDir }));
      const health = s.health.ok
        ? `health ${s.health.status} in ${s.health.timeMs} ms`
        : `health FAILED after ${s.health.timeMs} ms (${s.health.error ?? `HTTP ${s.health.status}`})`;
      print(
        Boolean(o.json),
        s,
        s.state
          ? [
              `lab ${s.running ? "running" : "NOT running"}: mode ${s.state.mode}, pid ${s.state.pid}, port ${s.port}`,
              `  open fds ${s.openFds ?? "?"} / limit ${s.state.fdLimit}; holders alive: ${s.holdersAlive.join(", ") || "none"}`,
              `  ${health}`,
              `  log ${s.state.logPath}`,
            ]
          : [`lab: nothing started on port ${s.port}; ${health}`],
      );
    });
}
