import type { Fds, FileNr, Host, Listener, ProcessInfo, SocketSummary, Sockets } from "../evidence/schema.js";
import type { ParseResult } from "./errors.js";
import { atLine, counted, type Fields, type ProbeSection } from "./probe-document.js";
import { listenerRelation } from "./probe-extras.js";
import { parseSsSummary } from "./ss-summary.js";

/** Section readers of the host, the target process, its listener, its fds and its sockets. */

export function readHost(f: Fields): Host {
  return {
    hostname: f.str("hostname"),
    kernel: f.optStr("kernel"),
    loadAverage1m: f.optNum("loadavg1m"),
    cpuCount: f.optInt("nproc") || null,
  };
}

export function readProcess(f: Fields): ProcessInfo {
  return {
    pid: f.int("pid"),
    user: f.str("user"),
    uid: f.int("uid"),
    cmdline: f.str("cmdline"),
    isJava: f.bool("isJava"),
    uptimeSeconds: f.optNum("uptimeSeconds"),
    cpuPercent: f.optNum("cpuPercent"),
    cpuSampleMs: f.optInt("cpuSampleMs"),
    cpuSource: cpuSource(f.optStr("cpuSource")),
    pidSource: f.str("pidSource") === "input" ? "input" : "listener",
    startTicks: f.optInt("startTicks"),
    listenerRelation: listenerRelation(f.optStr("listenerRelation")),
  };
}

const cpuSource = (v: string | null): ProcessInfo["cpuSource"] =>
  v === "schedstat" || v === "stat" ? v : null;

export function readListener(f: Fields): Listener {
  const listening = f.bool("listening");
  return {
    listening,
    address: listening ? f.optStr("address") : null,
    acceptQueue: listening ? { current: f.int("recvQ"), max: f.int("sendQ") } : null,
  };
}

export function readFds(f: Fields): Fds {
  return {
    open: f.int("open"),
    limitSoft: f.str("limitSoft") === "unlimited" ? null : f.int("limitSoft"),
    limitHard: f.str("limitHard") === "unlimited" ? null : f.int("limitHard"),
    byKind: {
      socket: f.int("kind.socket"),
      file: f.int("kind.file"),
      pipe: f.int("kind.pipe"),
      anonInode: f.int("kind.anonInode"),
      other: f.int("kind.other"),
    },
    topFiles: counted(f, "topFile", "path").map((e) => ({ path: e.value, count: e.count })),
  };
}

export function readSockets(f: Fields): Sockets {
  const byState: Record<string, number> = {};
  for (const e of f.prefixed("state.")) byState[e.key.slice("state.".length)] = f.int(e.key);
  const histogram = f.all("idle.bucket").map((e) => {
    const m = /^(\S+) (\d+) (\d+|-) (\d+)$/.exec(e.value);
    if (!m?.[1])
      return f.error(e.line, "idle.bucket=<label> <minMs> <maxMs|-> <count>", `${e.key}=${e.value}`);
    return {
      label: m[1],
      minMs: Number(m[2]),
      maxMs: m[3] === "-" ? null : Number(m[3]),
      count: Number(m[4]),
    };
  });
  return {
    port: f.int("port"),
    total: f.int("total"),
    byState,
    established: f.int("established"),
    idle: {
      histogram,
      overThreshold: f.int("idle.overThreshold"),
      thresholdMs: f.int("idle.thresholdMs"),
      maxIdleMs: f.optInt("idle.maxMs"),
    },
    sendQueueNonEmpty: f.int("sendQueueNonEmpty"),
    topPeers: counted(f, "peer", "address").map((e) => ({ address: e.value, count: e.count })),
  };
}

/** `ss -s` as raw lines. */
export function readSocketSummary(_f: Fields, s: ProbeSection): ParseResult<SocketSummary> {
  return atLine(parseSsSummary(s.raw.join("\n")), s);
}

export function readFileNr(f: Fields): FileNr {
  return { allocated: f.int("allocated"), max: f.int("max") };
}
