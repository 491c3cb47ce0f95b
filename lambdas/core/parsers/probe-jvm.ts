import {
  type ClassHistogram,
  type Heap,
  type Logs,
  type Threads,
  type TomcatInfo,
  tomcatSchema,
} from "../evidence/schema.js";
import type { ParseResult } from "./errors.js";
import { parseClassHistogram } from "./histogram.js";
import { parseJstatGcutil } from "./jstat.js";
import { firstFailureOf } from "./logs.js";
import { atLine, type Fields, type ProbeSection } from "./probe-document.js";
import { heapOptions, logDiscovery } from "./probe-extras.js";

/** Section readers of the JVM and its app: class histogram, threads, heap, the app's log, Tomcat's version. */

export function readClassHistogram(f: Fields, s: ProbeSection): ParseResult<ClassHistogram> {
  const tool = f.str("tool");
  if (tool !== "jcmd" && tool !== "jmap") return f.error(s.line, "tool=jcmd|jmap", `tool=${tool}`);
  const client = f.optStr("client");
  if (client !== null && client !== "jdk" && client !== "direct")
    return f.error(f.all("client")[0]?.line ?? s.line, "client=jdk|direct", `client=${client}`);
  const r = atLine(
    parseClassHistogram(s.raw.join("\n"), {
      tool,
      command: f.str("command"),
      forcedFullGc: f.bool("forcedFullGc"),
      sessionClasses: f.optStr("sessionClasses")?.split(" ") ?? null,
    }),
    s,
  );
  return r.ok && client !== null ? { ...r, value: { ...r.value, attachClient: client } } : r;
}

export function readThreads(f: Fields): Threads {
  const byState: Record<string, number> = {};
  for (const e of f.prefixed("state.")) byState[e.key.slice("state.".length)] = f.int(e.key);
  return {
    total: f.int("total"),
    byState,
    requestExecutor: {
      namePrefix: f.optStr("executor.prefix"),
      total: f.int("executor.total"),
      busy: f.int("executor.busy"),
      idle: f.int("executor.idle"),
    },
    inDatabaseCalls: f.int("inDatabaseCalls"),
    blockedOnMonitor: f.int("blocked"),
    waitingForDbConnection: f.optInt("waitingForDbConnection") ?? undefined,
  };
}

/** `jstat -gcutil` samples as raw lines. */
export function readHeap(f: Fields, s: ProbeSection): ParseResult<Heap> {
  return atLine(parseJstatGcutil(s.raw.join("\n"), heapOptions(f)), s);
}

export function readLogs(f: Fields): Logs {
  return {
    path: f.str("path"),
    ...logDiscovery(f.optStr("source"), f.optStr("why"), f.all("passedOver")),
    linesScanned: f.int("linesScanned"),
    tooManyOpenFiles: f.int("tooManyOpenFiles"),
    outOfMemoryError: f.int("outOfMemoryError"),
    connectionNotAvailable: f.optInt("connectionNotAvailable") ?? undefined,
    ...(f.optInt("noSpaceLeft") === null ? {} : { noSpaceLeft: f.int("noSpaceLeft") }),
    samples: f.all("sample").map((e) => e.value),
    firstFailure: firstFailureOf(
      f.all("firstFailureLine")[0]?.value,
      f.all("firstFailureAt")[0]?.value,
      f.all("utcOffset")[0]?.value,
      f.all("firstFailureKind")[0]?.value,
    ),
  };
}

export function readTomcat(f: Fields, s: ProbeSection): TomcatInfo {
  const source = tomcatSchema.shape.source.safeParse(f.str("source"));
  const want = `source=${tomcatSchema.shape.source.options.join("|")}`;
  if (!source.success) return f.error(s.line, want, `source=${f.str("source")}`);
  return { version: f.str("version"), source: source.data };
}
