import type { Listener, Sockets } from "../../../lambdas/core/evidence/schema.js";
import { type ParseResult, parsed, parseFailure, splitLines } from "../../../lambdas/core/parsers/errors.js";

/** One socket from `ss -tanoi`: the record line plus the `ss -i` info line after it. */
export interface SsSocket {
  readonly line: number;
  readonly state: string;
  readonly recvQ: number;
  readonly sendQ: number;
  readonly local: string;
  readonly peer: string;
  /** Peer address without the port, brackets and the `::ffff:` IPv4-mapped prefix. */
  readonly peerAddress: string;
  readonly lastRcvMs: number | null;
  readonly lastAckMs: number | null;
  readonly lastSndMs: number | null;
  readonly timer: string | null;
}

export interface SsParse {
  readonly sockets: SsSocket[];
  /** The same aggregate the probe computes on the host with awk (LISTEN excluded). */
  readonly aggregate: Sockets;
}

export interface SsOptions {
  readonly port: number;
  readonly idleThresholdMs: number;
  /** How many peers to keep (the probe keeps 10). */
  readonly topPeers?: number;
}

/** The idle buckets, identical to the probe's awk. */
export const IDLE_BUCKETS: ReadonlyArray<{ label: string; minMs: number; maxMs: number | null }> = [
  { label: "<1s", minMs: 0, maxMs: 1000 },
  { label: "1-10s", minMs: 1000, maxMs: 10_000 },
  { label: "10-60s", minMs: 10_000, maxMs: 60_000 },
  { label: "1-5min", minMs: 60_000, maxMs: 300_000 },
  { label: "5-30min", minMs: 300_000, maxMs: 1_800_000 },
  { label: ">=30min", minMs: 1_800_000, maxMs: null },
];

const SS_STATES = new Set([
  "ESTAB",
  "LISTEN",
  "SYN-SENT",
  "SYN-RECV",
  "FIN-WAIT-1",
  "FIN-WAIT-2",
  "TIME-WAIT",
  "CLOSE-WAIT",
  "LAST-ACK",
  "CLOSING",
  "CLOSED",
  "UNCONN",
  "UNKNOWN",
]);

const P = "ss";
const RECORD = "a socket line `STATE RECV-Q SEND-Q LOCAL:PORT PEER:PORT [timer:(...)]`";

/** Peer address without its port, as the probe's awk does it. */
export function peerAddressOf(peer: string): string {
  return peer
    .replace(/:[^:]*$/, "")
    .replace(/[[\]]/g, "")
    .replace(/^::ffff:/, "");
}

/** C-locale order (byte order for ASCII), as `LC_ALL=C sort` orders it. */
export const cCompare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Parses raw `ss -tanoi` output (with or without the header line). */
export function parseSs(raw: string, options: SsOptions): ParseResult<SsParse> {
  const lines = splitLines(raw);
  if (lines.length === 0) return parseFailure(P, 1, `the header "State Recv-Q Send-Q ..." or ${RECORD}`, "");
  const sockets: SsSocket[] = [];
  let current: {
    line: number;
    state: string;
    recvQ: number;
    sendQ: number;
    local: string;
    peer: string;
    timer: string | null;
    info: Map<string, number>;
  } | null = null;
  const flush = () => {
    if (current === null) return;
    sockets.push({
      line: current.line,
      state: current.state,
      recvQ: current.recvQ,
      sendQ: current.sendQ,
      local: current.local,
      peer: current.peer,
      peerAddress: peerAddressOf(current.peer),
      lastRcvMs: current.info.get("lastrcv") ?? null,
      lastAckMs: current.info.get("lastack") ?? null,
      lastSndMs: current.info.get("lastsnd") ?? null,
      timer: current.timer,
    });
    current = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i] ?? "";
    const n = i + 1;
    if (text.trim() === "") continue;
    if (/^[ \t]/.test(text)) {
      if (current === null) return parseFailure(P, n, RECORD, text);
      for (const tok of text.trim().split(/\s+/)) {
        const m = /^(lastrcv|lastack|lastsnd):(\d+)$/.exec(tok);
        if (m?.[1] && m[2]) current.info.set(m[1], Number(m[2]));
      }
      continue;
    }
    flush();
    if (i === 0 && /^State\s+Recv-Q\s+Send-Q/.test(text)) continue;
    const cols = text.trim().split(/\s+/);
    const [state, rq, sq, local, peer] = cols;
    if (state === undefined || !SS_STATES.has(state)) return parseFailure(P, n, RECORD, text);
    if (rq === undefined || sq === undefined || local === undefined || peer === undefined)
      return parseFailure(P, n, `${RECORD} (5 columns)`, text);
    if (!/^\d+$/.test(rq) || !/^\d+$/.test(sq)) return parseFailure(P, n, "numeric Recv-Q and Send-Q", text);
    if (!/:[0-9*]+$/.test(local) || !/:[0-9*]+$/.test(peer))
      return parseFailure(P, n, "LOCAL:PORT and PEER:PORT addresses", text);
    const timer = cols.slice(5).find((c) => c.startsWith("timer:")) ?? null;
    current = { line: n, state, recvQ: Number(rq), sendQ: Number(sq), local, peer, timer, info: new Map() };
  }
  flush();
  return parsed({ sockets, aggregate: aggregateSockets(sockets, options) });
}

/** The aggregate the probe emits, from parsed sockets. */
export function aggregateSockets(sockets: readonly SsSocket[], options: SsOptions): Sockets {
  const byState: Record<string, number> = {};
  const buckets = IDLE_BUCKETS.map((b) => ({ ...b, count: 0 }));
  const peers = new Map<string, number>();
  let total = 0;
  let established = 0;
  let over = 0;
  let sendQ = 0;
  let maxIdle: number | null = null;
  for (const s of sockets) {
    if (s.state === "LISTEN") continue;
    total++;
    byState[s.state] = (byState[s.state] ?? 0) + 1;
    if (s.state === "ESTAB") {
      established++;
      if (s.sendQ > 0) sendQ++;
      const idle = s.lastRcvMs ?? s.lastAckMs;
      if (idle !== null) {
        const bucket = buckets.find((b) => idle >= b.minMs && (b.maxMs === null || idle < b.maxMs));
        if (bucket) bucket.count++;
        if (idle > options.idleThresholdMs) over++;
        if (maxIdle === null || idle > maxIdle) maxIdle = idle;
      }
    }
    peers.set(s.peerAddress, (peers.get(s.peerAddress) ?? 0) + 1);
  }
  const topPeers = [...peers.entries()]
    .sort((a, b) => b[1] - a[1] || cCompare(a[0], b[0]))
    .slice(0, options.topPeers ?? 10)
    .map(([address, count]) => ({ address, count }));
  return {
    port: options.port,
    total,
    byState,
    established,
    idle: {
      histogram: buckets,
      overThreshold: over,
      thresholdMs: options.idleThresholdMs,
      maxIdleMs: maxIdle,
    },
    sendQueueNonEmpty: sendQ,
    topPeers,
  };
}

/** Parses `ss -ltn` (or `ss -ltnp`) for the port: the first LISTEN socket is the listener. */
export function parseSsListen(raw: string): ParseResult<Listener> {
  const S = "ss-listen";
  const lines = splitLines(raw);
  if (lines.length === 0 || !/^State\s+Recv-Q\s+Send-Q/.test(lines[0] ?? ""))
    return parseFailure(S, 1, 'the header "State Recv-Q Send-Q ..."', lines[0] ?? "");
  for (let i = 1; i < lines.length; i++) {
    const text = lines[i] ?? "";
    if (text.trim() === "" || /^\s/.test(text)) continue;
    const cols = text.trim().split(/\s+/);
    const [state, rq, sq, local] = cols;
    if (state !== "LISTEN" || rq === undefined || sq === undefined || local === undefined)
      return parseFailure(S, i + 1, "a line `LISTEN RECV-Q SEND-Q LOCAL:PORT ...`", text);
    if (!/^\d+$/.test(rq) || !/^\d+$/.test(sq))
      return parseFailure(S, i + 1, "numeric Recv-Q and Send-Q", text);
    return parsed({ listening: true, address: local, acceptQueue: { current: Number(rq), max: Number(sq) } });
  }
  return parsed({ listening: false, address: null, acceptQueue: null });
}
