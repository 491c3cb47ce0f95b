import type { ClassHistogram } from "../evidence/schema.js";
import { type ParseResult, parsed, parseFailure, splitLines } from "./errors.js";

/** Classes the rules look at; the probe keeps their lines even beyond the top N. */
export const WATCHED_CLASSES = [
  "org.apache.tomcat.websocket.WsSession",
  "org.apache.coyote.http11.upgrade.UpgradeProcessorInternal",
  "org.apache.tomcat.websocket.server.WsHttpUpgradeHandler",
  "java.io.FileInputStream",
  "java.io.FileDescriptor",
  "sun.nio.ch.SocketChannelImpl",
  "org.apache.tomcat.util.net.NioEndpoint$NioSocketWrapper",
] as const;

export interface ClassHistogramOptions {
  readonly tool: ClassHistogram["tool"];
  readonly command: string;
  readonly forcedFullGc: boolean;
  /** Entries to keep in `top` (default 30). */
  readonly top?: number;
  readonly watched?: readonly string[];
  /** The runbook's WebSocket session classes the probe counted (watched too); null: not recorded. */
  readonly sessionClasses?: readonly string[] | null;
}

const ROW = /^\s*(\d+):\s+(\d+)\s+(\d+)\s+(\S+)(?:\s+\(([^()]+)\))?\s*$/;

/**
 * Parses `jcmd PID GC.class_histogram` / `jmap -histo[:live] PID` output: JDK 9+ rows carry a
 * module column (`java.base@17.0.15`), JDK 8 rows do not. Also accepts the probe's cut copy
 * (top rows + watched rows + Total), where ranks are not contiguous.
 */
export function parseClassHistogram(
  raw: string,
  options: ClassHistogramOptions,
): ParseResult<ClassHistogram> {
  const P = "class-histogram";
  const lines = splitLines(raw);
  if (lines.length === 0) return parseFailure(P, 1, 'the header " num  #instances  #bytes  class name"', "");
  const sessionClasses = options.sessionClasses?.filter((c) => c !== "") ?? [];
  const watchedNames = [...new Set([...(options.watched ?? WATCHED_CLASSES), ...sessionClasses])];
  const watched = new Map(watchedNames.map((c) => [c, { className: c, instances: 0, bytes: 0 }]));
  const top: ClassHistogram["top"] = [];
  let sawHeader = false;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i] ?? "";
    const n = i + 1;
    if (text.trim() === "" || /^-+$/.test(text.trim())) continue;
    if (!sawHeader) {
      if (/^\d+:$/.test(text.trim())) continue; // jcmd prints "PID:" first
      if (/^\s*num\s+#instances\s+#bytes\s+class name/.test(text)) {
        sawHeader = true;
        continue;
      }
      return parseFailure(P, n, 'the header " num  #instances  #bytes  class name"', text);
    }
    const total = /^Total\s+(\d+)\s+(\d+)\s*$/.exec(text);
    if (total) {
      return parsed({
        tool: options.tool,
        command: options.command,
        forcedFullGc: options.forcedFullGc,
        totalInstances: Number(total[1]),
        totalBytes: Number(total[2]),
        top,
        watched: [...watched.values()],
        ...(sessionClasses.length > 0 ? { sessionClasses } : {}),
      });
    }
    const m = ROW.exec(text);
    if (!m?.[4])
      return parseFailure(P, n, "a row `RANK: INSTANCES BYTES CLASS [(MODULE)]` or the Total line", text);
    const entry = {
      rank: Number(m[1]),
      instances: Number(m[2]),
      bytes: Number(m[3]),
      className: m[4],
      module: m[5] ?? null,
    };
    if (entry.rank < 1) return parseFailure(P, n, "a rank of 1 or more", text);
    if (top.length < (options.top ?? 30)) top.push(entry);
    const w = watched.get(entry.className);
    if (w) {
      w.instances += entry.instances;
      w.bytes += entry.bytes;
    }
  }
  return parseFailure(
    P,
    lines.length + 1,
    sawHeader ? 'the "Total N N" line (output cut short?)' : "the header",
    "",
  );
}
