import type { SocketSummary } from "../evidence/schema.js";
import { type ParseResult, parsed, parseFailure, splitLines } from "./errors.js";

/** Parses `ss -s`. */
export function parseSsSummary(raw: string): ParseResult<SocketSummary> {
  const S = "ss-summary";
  const lines = splitLines(raw);
  if (lines.length === 0) return parseFailure(S, 1, 'the "Total: N" line', "");
  if (!/^Total:\s+\d+/.test(lines[0] ?? "")) return parseFailure(S, 1, 'the "Total: N" line', lines[0] ?? "");
  for (let i = 1; i < lines.length; i++) {
    const text = lines[i] ?? "";
    if (!text.startsWith("TCP:")) continue;
    const m =
      /^TCP:\s+(\d+)\s+\(estab (\d+), closed (\d+), orphaned (\d+),(?: synrecv \d+,)? timewait (\d+)(?:\/\d+)?/.exec(
        text,
      );
    if (!m) return parseFailure(S, i + 1, '"TCP: N (estab N, closed N, orphaned N, timewait N)"', text);
    return parsed({
      tcpTotal: Number(m[1]),
      estab: Number(m[2]),
      closed: Number(m[3]),
      orphaned: Number(m[4]),
      timewait: Number(m[5]),
    });
  }
  return parseFailure(S, lines.length + 1, 'the "TCP: N (estab N, ...)" line', "");
}
