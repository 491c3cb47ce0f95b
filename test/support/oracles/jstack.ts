import type { Threads } from "../../../lambdas/core/evidence/schema.js";
import { type ParseResult, parsed, parseFailure, splitLines } from "../../../lambdas/core/parsers/errors.js";
import { cCompare } from "./ss.js";

export interface JstackThread {
  readonly line: number;
  readonly name: string;
  /** `java.lang.Thread.State` word (RUNNABLE, WAITING, ...); UNKNOWN when absent. */
  readonly state: string;
  /** Waiting for work inside its pool executor (`ThreadPoolExecutor.getTask`). */
  readonly parkedForWork: boolean;
  /** In a socket read under a database driver's frames (not an in-process database server's). */
  readonly inDatabaseCall: boolean;
  /** Waiting for a pooled database connection (HikariCP, Tomcat JDBC, DBCP 2, c3p0 borrow frames). */
  readonly waitingForDbConnection: boolean;
}

export interface JstackParse {
  readonly threads: JstackThread[];
  /** The same aggregate the probe computes on the host with awk. */
  readonly aggregate: Threads;
}

const PARKED = /ThreadPoolExecutor\.getTask\(/;
const DB_SERVER = /at org\.(h2|hsqldb)\.server\./;
const POOL_WAIT =
  /\.(HikariPool\.getConnection|ConnectionPool\.borrowConnection|GenericObjectPool\.borrowObject|BasicResourcePool\.awaitAvailable)\(/;
const SOCKET_READ =
  /socketRead|SocketInputStream\.read|NioSocketImpl\.(read|implRead)|SocketDispatcher\.read/;
const DRIVER =
  /at (com\.mysql\.|org\.postgresql\.|oracle\.jdbc\.|com\.microsoft\.sqlserver\.|org\.mariadb\.|org\.h2\.|org\.hsqldb\.|com\.ibm\.db2\.)/;

/**
 * Parses `jstack PID` (JDK 8+). Only Java threads (headers with `#N`) count; VM-internal threads
 * ("VM Thread", "GC Thread#0") are skipped, as the probe's awk does.
 */
export function parseJstack(raw: string): ParseResult<JstackParse> {
  const P = "jstack";
  const lines = splitLines(raw);
  const threads: JstackThread[] = [];
  type Cur = {
    line: number;
    name: string;
    state: string;
    parked: boolean;
    sock: boolean;
    driver: boolean;
    server: boolean;
    poolWait: boolean;
  };
  let cur: Cur | null = null;
  let sawHeader = false;
  let sawEnd = false;
  const flush = () => {
    if (cur)
      threads.push({
        line: cur.line,
        name: cur.name,
        state: cur.state,
        parkedForWork: cur.parked,
        inDatabaseCall: cur.sock && cur.driver && !cur.server,
        waitingForDbConnection: cur.poolWait,
      });
    cur = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i] ?? "";
    if (text.startsWith('"')) {
      flush();
      sawHeader = true;
      if (/" #\d+ /.test(text)) {
        const name = text.replace(/^"/, "").replace(/" #\d+ .*$/, "");
        cur = {
          line: i + 1,
          name,
          state: "UNKNOWN",
          parked: false,
          sock: false,
          driver: false,
          server: false,
          poolWait: false,
        };
      }
      continue;
    }
    if (text.startsWith("JNI global refs")) sawEnd = true;
    const c = cur as Cur | null;
    if (c === null) continue;
    const st = /^\s+java\.lang\.Thread\.State: (\S+)/.exec(text);
    if (st?.[1]) c.state = st[1];
    else if (/^\s+at /.test(text)) {
      if (PARKED.test(text)) c.parked = true;
      if (SOCKET_READ.test(text)) c.sock = true;
      if (DRIVER.test(text)) c.driver = true;
      if (DB_SERVER.test(text)) c.server = true;
      if (POOL_WAIT.test(text)) c.poolWait = true;
    }
  }
  flush();
  if (!sawHeader) {
    const firstLine = lines.findIndex((l) => l.trim() !== "");
    return parseFailure(
      P,
      firstLine < 0 ? 1 : firstLine + 1,
      'a "Full thread dump" with thread headers starting with "',
      lines[firstLine] ?? "",
    );
  }
  if (!sawEnd)
    return parseFailure(P, lines.length + 1, 'the closing "JNI global refs" line (dump cut short?)', "");
  return parsed({ threads, aggregate: aggregateThreads(threads) });
}

export function aggregateThreads(threads: readonly JstackThread[]): Threads {
  const byState: Record<string, number> = {};
  const pools = new Map<string, { total: number; idle: number }>();
  let db = 0;
  let blocked = 0;
  let poolWait = 0;
  for (const t of threads) {
    if (t.waitingForDbConnection) poolWait++;
    byState[t.state] = (byState[t.state] ?? 0) + 1;
    if (t.state === "BLOCKED") blocked++;
    if (t.inDatabaseCall) db++;
    if (/-exec-\d+$/.test(t.name)) {
      const prefix = t.name.replace(/\d+$/, "");
      const p = pools.get(prefix) ?? { total: 0, idle: 0 };
      p.total++;
      if (t.parkedForWork) p.idle++;
      pools.set(prefix, p);
    }
  }
  let best: string | null = null;
  for (const [prefix, p] of pools) {
    const b = best === null ? undefined : pools.get(best);
    if (!b || p.total > b.total || (p.total === b.total && best !== null && cCompare(prefix, best) < 0))
      best = prefix;
  }
  const pool = best === null ? undefined : pools.get(best);
  return {
    total: threads.length,
    byState,
    requestExecutor: {
      namePrefix: best,
      total: pool?.total ?? 0,
      busy: pool ? pool.total - pool.idle : 0,
      idle: pool?.idle ?? 0,
    },
    inDatabaseCalls: db,
    blockedOnMonitor: blocked,
    waitingForDbConnection: poolWait,
  };
}
