import { type WatchSample, watchSampleSchema } from "../forecast/sample.js";
import { type ParseResult, parsed, parseFailure, splitLines } from "./errors.js";

const PARSER = "leak-watch";
const HEADER = /^#runbook-leak-watch format=1 version=\S+$/;
const INT_KEYS = [
  "pid",
  "startTicks",
  "openFds",
  "fdLimit",
  "established",
  "idleEstablished",
  "sessions",
] as const;

/** The leak-watch probe's stdout (runbooks/probes/leak-watch.sh) → one WatchSample. */
export function parseLeakWatchOutput(stdout: string): ParseResult<WatchSample> {
  const lines = splitLines(stdout);
  if (!HEADER.test(lines[0] ?? "")) {
    return parseFailure(PARSER, 1, "the header '#runbook-leak-watch format=1 version=...'", lines[0] ?? "");
  }
  const fields = new Map<string, string>();
  const unavailable: string[] = [];
  let ended = false;
  for (const [i, line] of lines.entries()) {
    if (i === 0) continue;
    if (line.startsWith("==> input status=invalid")) {
      return parseFailure(
        PARSER,
        i + 1,
        "valid probe inputs",
        line.replace(/^==> input status=invalid reason=/, ""),
      );
    }
    if (/^==> end status=ok\b/.test(line)) {
      ended = true;
      continue;
    }
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!m) return parseFailure(PARSER, i + 1, "key=value", line);
    const [, key, value] = m as unknown as [string, string, string];
    if (key === "unavailable") unavailable.push(value.replace(" ", ": "));
    else fields.set(key, value);
  }
  if (!ended)
    return parseFailure(PARSER, lines.length, "the last line '==> end status=ok'", lines.at(-1) ?? "");
  const num = (k: string, re: RegExp) => {
    const v = fields.get(k) ?? "";
    return re.test(v) ? Number(v) : null;
  };
  const ints = Object.fromEntries(INT_KEYS.map((k) => [k, num(k, /^\d+$/)]));
  const candidate = {
    at: fields.get("at"),
    ...ints,
    pid: ints.pid === 0 ? null : ints.pid,
    heapOldGenPercent: num("heapOldGenPercent", /^\d+(\.\d+)?$/),
    unavailable,
  };
  const r = watchSampleSchema.safeParse(candidate);
  if (!r.success) {
    const issue = r.error.issues[0];
    const key = String(issue?.path[0] ?? "");
    const line = lines.findIndex((l) => l.startsWith(`${key}=`)) + 1;
    return parseFailure(PARSER, line, `${key}: ${issue?.message ?? "a valid value"}`, lines[line - 1] ?? "");
  }
  return parsed(r.data);
}
