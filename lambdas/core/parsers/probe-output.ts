import { buildEvidence } from "../evidence/build-evidence.js";
import { type Disk, type Evidence, type Exit, type Health, tomcatSchema } from "../evidence/schema.js";
import { REDACTED } from "../redact/index.js";
import { ok, type Section, unavailable } from "../shared/section.js";
import { ParseError, type ParseResult, parsed, parseFailure, splitLines } from "./errors.js";
import { parseHealth } from "./health.js";
import { parseClassHistogram } from "./histogram.js";
import { parseJstatGcutil } from "./jstat.js";
import { firstFailureOf } from "./logs.js";
import { attachOf, heapOptions, listenerRelation, logDiscovery } from "./probe-extras.js";
import { networkSection } from "./probe-network.js";
import { parseSsSummary } from "./ss-summary.js";

const P = "probe-output";
export const PROBE_FORMAT = 1;

export interface ProbeSection {
  readonly name: string;
  readonly status: "ok" | "unavailable" | "invalid";
  readonly reason: string | null;
  /** 1-based line of the `==>` header in the probe's stdout. */
  readonly line: number;
  /** key=value lines, in order; keys may repeat (topFile=, peer=, sample=, idle.bucket=). */
  readonly fields: ReadonlyArray<{ key: string; value: string; line: number }>;
  /** `| ` raw lines with the prefix removed, and the 1-based stdout line of the first one. */
  readonly raw: readonly string[];
  readonly rawLine: number;
}

export interface ProbeDocument {
  readonly format: number;
  readonly version: string;
  readonly sections: ReadonlyMap<string, ProbeSection>;
  /** The `==> end` marker was seen: the output was not cut. */
  readonly complete: boolean;
  readonly lineCount: number;
}

/** Splits the probe's stdout into sections (no interpretation of their fields). */
export function splitProbeOutput(stdout: string): ParseResult<ProbeDocument> {
  const lines = splitLines(stdout);
  const first = lines[0] ?? "";
  const head = /^#runbook-probe format=(\d+) version=(\S+)$/.exec(first);
  if (!head?.[1] || !head[2])
    return parseFailure(P, 1, 'the header "#runbook-probe format=N version=V"', first);
  const format = Number(head[1]);
  if (format !== PROBE_FORMAT) return parseFailure(P, 1, `probe format ${PROBE_FORMAT}`, first);
  const sections = new Map<string, ProbeSection>();
  type Mut = { -readonly [K in keyof ProbeSection]: ProbeSection[K] } & {
    fields: { key: string; value: string; line: number }[];
    raw: string[];
  };
  let cur: Mut | null = null;
  let complete = false;
  for (let i = 1; i < lines.length; i++) {
    const text = lines[i] ?? "";
    const n = i + 1;
    if (text.startsWith("==> ")) {
      const m = /^==> ([A-Za-z][A-Za-z0-9]*) status=(ok|unavailable|invalid)(?: reason=(.*))?$/.exec(text);
      if (!m?.[1] || !m[2])
        return parseFailure(P, n, 'a section header "==> NAME status=ok|unavailable [reason=...]"', text);
      cur = {
        name: m[1],
        status: m[2] as ProbeSection["status"],
        reason: m[3] ?? null,
        line: n,
        fields: [],
        raw: [],
        rawLine: 0,
      };
      sections.set(cur.name, cur);
      if (cur.name === "end") complete = true;
      continue;
    }
    if (cur === null) return parseFailure(P, n, "a section header after the first line", text);
    if (text.startsWith("|")) {
      if (cur.raw.length === 0) cur.rawLine = n;
      cur.raw.push(text.startsWith("| ") ? text.slice(2) : text.slice(1));
      continue;
    }
    if (text === "") continue;
    const kv = /^([A-Za-z][A-Za-z0-9._-]*)=(.*)$/.exec(text);
    if (!kv?.[1]) return parseFailure(P, n, 'a "key=value" line or a "| raw" line', text);
    cur.fields.push({ key: kv[1], value: kv[2] ?? "", line: n });
  }
  return parsed({ format, version: head[2], sections, complete, lineCount: lines.length });
}

/** Reads typed fields of one section; a bad field throws FieldError, caught per section. */
class FieldError extends Error {}
export class Fields {
  constructor(private readonly s: ProbeSection) {}
  private find(key: string) {
    return this.s.fields.find((f) => f.key === key);
  }
  private fail(key: string, expected: string): never {
    const f = this.find(key);
    throw new FieldError(
      new ParseError({
        parser: P,
        line: f?.line ?? this.s.line,
        expected: `${key}=${expected} in section ${this.s.name}`,
        excerpt: f ? `${f.key}=${f.value}` : "",
      }).message,
    );
  }
  str(key: string): string {
    const f = this.find(key);
    if (!f) this.fail(key, "<text>");
    return f.value;
  }
  optStr(key: string): string | null {
    const v = this.find(key)?.value;
    return v === undefined || v === "" ? null : v;
  }
  int(key: string): number {
    const v = this.find(key)?.value ?? "";
    if (!/^\d+$/.test(v)) this.fail(key, "<whole number>");
    return Number(v);
  }
  optInt(key: string): number | null {
    const v = this.find(key)?.value ?? "";
    if (v === "") return null;
    if (!/^\d+$/.test(v)) this.fail(key, "<whole number> or empty");
    return Number(v);
  }
  optNum(key: string): number | null {
    const v = this.find(key)?.value ?? "";
    if (v === "") return null;
    if (!/^\d+(\.\d+)?$/.test(v)) this.fail(key, "<number> or empty");
    return Number(v);
  }
  bool(key: string): boolean {
    const v = this.find(key)?.value;
    if (v !== "true" && v !== "false") this.fail(key, "true|false");
    return v === "true";
  }
  all(key: string) {
    return this.s.fields.filter((f) => f.key === key);
  }
  prefixed(prefix: string) {
    return this.s.fields.filter((f) => f.key.startsWith(prefix));
  }
  error(line: number, expected: string, excerpt: string): never {
    throw new FieldError(new ParseError({ parser: P, line, expected, excerpt }).message);
  }
}

/** Counted `N rest-of-line` values (topFile=, peer=). */
export function counted(f: Fields, key: string, label: string) {
  return f.all(key).map((e) => {
    const m = /^(\d+) (.+)$/.exec(e.value);
    if (!m?.[2]) return f.error(e.line, `${key}=<count> <${label}>`, `${e.key}=${e.value}`);
    return { count: Number(m[1]), value: m[2] };
  });
}

export function section<T>(
  doc: ProbeDocument,
  name: string,
  read: (f: Fields, s: ProbeSection) => T | ParseResult<T>,
): Section<T> {
  const s = doc.sections.get(name);
  if (!s) {
    return unavailable(
      doc.complete
        ? `section ${name} missing from the probe output`
        : `section ${name} missing: probe output ends at line ${doc.lineCount} without "==> end" (cut short or timed out)`,
    );
  }
  if (s.status !== "ok")
    return unavailable(s.reason?.trim() || `section ${name} is ${s.status} (no reason given)`);
  try {
    const out = read(new Fields(s), s);
    if (isResult(out))
      return out.ok ? ok(out.value) : unavailable(`probe output unparsable: ${out.error.message}`);
    return ok(out);
  } catch (e) {
    if (e instanceof FieldError) return unavailable(`probe output unparsable: ${e.message}`);
    throw e;
  }
}

function isResult<T>(v: T | ParseResult<T>): v is ParseResult<T> {
  return typeof v === "object" && v !== null && "ok" in v && typeof (v as { ok: unknown }).ok === "boolean";
}

/** Shifts a raw-block parser's line number to the probe stdout's line number. */
function atLine<T>(r: ParseResult<T>, s: ProbeSection): ParseResult<T> {
  if (r.ok) return r;
  const e = r.error;
  return {
    ok: false,
    error: new ParseError(
      {
        parser: e.parser,
        line: e.line + Math.max(0, s.rawLine - 1),
        expected: e.expected,
        excerpt: e.excerpt,
      },
      { cause: e },
    ),
  };
}

export interface ParseProbeOptions {
  /** Where the probe ran (instance id, `local`). */
  readonly target: string;
  /** Used when the probe's meta section has no startedAt. */
  readonly collectedAt?: string;
}

/**
 * The probe's stdout → a validated Evidence document. Fails only when the output is not probe
 * output at all (wrong header, no meta section) or the probe rejected its inputs; a section that is
 * missing (output cut short) or malformed becomes `unavailable` with the reason and line.
 */
export function parseProbeOutput(stdout: string, options: ParseProbeOptions): ParseResult<Evidence> {
  const split = splitProbeOutput(stdout);
  if (!split.ok) return split;
  const doc = split.value;
  const input = doc.sections.get("input");
  if (input?.status === "invalid")
    return parseFailure(P, input.line, "valid probe inputs", input.reason ?? "invalid input");
  const metaSection = doc.sections.get("meta");
  if (metaSection?.status !== "ok")
    return parseFailure(P, 2, 'the "==> meta status=ok" section', splitLines(stdout)[1] ?? "");
  const meta = new Fields(metaSection);
  let port: number;
  try {
    port = meta.int("port");
  } catch (e) {
    return parseFailure(P, metaSection.line, "meta port=<1-65535>", String((e as Error).message));
  }
  const healthPath = meta.optStr("healthPath") ?? "/health";
  const pidInput = meta.optStr("pidInput");

  const health = section<Health>(doc, "health", (_f, s) =>
    parseHealth(s.fields.map((f) => `${f.key}=${f.value}`).join("\n")),
  );
  const end = doc.sections.get("end");
  const endFields = end ? new Fields(end) : null;
  let durationMs = 0;
  let timedOut: string[] = [];
  let redaction: { rules: number; stdout: number; raw: number } | undefined;
  const truncations: string[] = [];
  try {
    durationMs = endFields?.optInt("durationMs") ?? 0;
    timedOut = (endFields?.optStr("timedOut") ?? "").split(",").filter((s) => s !== "");
    const raw = doc.sections.get("raw");
    const rawFields = raw && raw.status === "ok" ? new Fields(raw) : null;
    const rules = endFields?.optInt("redactionRules");
    if (rules !== undefined && rules !== null)
      redaction = {
        rules,
        // The probe redacts its whole stdout in one filter: the markers in it are its count.
        stdout: stdout.split(REDACTED).length - 1,
        raw: rawFields?.optInt("redactions") ?? 0,
      };
    for (const name of ["logs", "raw"]) {
      const s = doc.sections.get(name);
      if (s?.status === "ok")
        for (const t of new Fields(s).all("truncated")) truncations.push(`${name}: ${t.value}`);
    }
  } catch {
    // a malformed end or raw section: keep the defaults
  }

  const draft: Evidence = {
    schemaVersion: 1,
    collectedAt: meta.optStr("startedAt") ?? options.collectedAt ?? new Date(0).toISOString(),
    target: options.target,
    input: {
      port,
      pid: pidInput === null ? null : Number(pidInput),
      healthPath,
      logPath: meta.optStr("logPath"),
    },
    collector: {
      version: doc.version,
      durationMs,
      timedOut,
      outputChars: stdout.length,
      ...(redaction ? { redaction } : {}),
      ...(truncations.length ? { truncations } : {}),
      ...attachOf(endFields),
    },
    host: section(doc, "host", (f) => ({
      hostname: f.str("hostname"),
      kernel: f.optStr("kernel"),
      loadAverage1m: f.optNum("loadavg1m"),
      cpuCount: f.optInt("nproc") || null,
    })),
    process: section(doc, "process", (f) => ({
      pid: f.int("pid"),
      user: f.str("user"),
      uid: f.int("uid"),
      cmdline: f.str("cmdline"),
      isJava: f.bool("isJava"),
      uptimeSeconds: f.optNum("uptimeSeconds"),
      cpuPercent: f.optNum("cpuPercent"),
      pidSource: f.str("pidSource") === "input" ? "input" : "listener",
      startTicks: f.optInt("startTicks"),
      listenerRelation: listenerRelation(f.optStr("listenerRelation")),
    })),
    listener: section(doc, "listener", (f) => {
      const listening = f.bool("listening");
      return {
        listening,
        address: listening ? f.optStr("address") : null,
        acceptQueue: listening ? { current: f.int("recvQ"), max: f.int("sendQ") } : null,
      };
    }),
    fds: section(doc, "fds", (f) => ({
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
    })),
    sockets: section(doc, "sockets", (f) => {
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
    }),
    socketSummary: section(doc, "socketSummary", (_f, s) => atLine(parseSsSummary(s.raw.join("\n")), s)),
    fileNr: section(doc, "fileNr", (f) => ({ allocated: f.int("allocated"), max: f.int("max") })),
    classHistogram: section(doc, "classHistogram", (f, s) => {
      const tool = f.str("tool");
      if (tool !== "jcmd" && tool !== "jmap") return f.error(s.line, "tool=jcmd|jmap", `tool=${tool}`);
      return atLine(
        parseClassHistogram(s.raw.join("\n"), {
          tool,
          command: f.str("command"),
          forcedFullGc: f.bool("forcedFullGc"),
          sessionClasses: f.optStr("sessionClasses")?.split(" ") ?? null,
        }),
        s,
      );
    }),
    threads: section(doc, "threads", (f) => {
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
    }),
    heap: section(doc, "heap", (f, s) => atLine(parseJstatGcutil(s.raw.join("\n"), heapOptions(f)), s)),
    health:
      health.status === "ok"
        ? health.data
        : {
            url: `http://127.0.0.1:${port}${healthPath}`,
            outcome: "error",
            httpStatus: null,
            latencyMs: 0,
            detail: `health not probed: ${health.reason}`,
          },
    logs: section(doc, "logs", (f) => ({
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
      ),
    })),
    tomcat: section(doc, "tomcat", (f, s) => {
      const source = tomcatSchema.shape.source.safeParse(f.str("source"));
      const want = `source=${tomcatSchema.shape.source.options.join("|")}`;
      if (!source.success) return f.error(s.line, want, `source=${f.str("source")}`);
      return { version: f.str("version"), source: source.data };
    }),
    disk: section(doc, "disk", readDisk),
    exit: section(doc, "exit", readExit),
  };
  return buildEvidence({ ...draft, ...networkSection(doc) });
}

const FS_ROLES = ["log", "tmp", "cwd"] as const;

/** `fs=<role> <used%> <availKb> <sizeKb> <inodes%|-> <mount> <path>`, `top=<kb> <path>` (collect_disk). */
function readDisk(f: Fields): Disk {
  const filesystems = f.all("fs").map((e) => {
    const m = /^(log|tmp|cwd) (\d+) (\d+) (\d+) (\d+|-) (\S+) (.+)$/.exec(e.value);
    const role = FS_ROLES.find((r) => r === m?.[1]);
    if (!m || !role)
      return f.error(
        e.line,
        "fs=<log|tmp|cwd> <used%> <availKb> <sizeKb> <inodes%|-> <mount> <path>",
        e.value,
      );
    return {
      role,
      usedPercent: Math.min(100, Number(m[2])),
      availKb: Number(m[3]),
      sizeKb: Number(m[4]),
      inodesUsedPercent: m[5] === "-" ? null : Math.min(100, Number(m[5])),
      mount: m[6] ?? "",
      path: m[7] ?? "",
    };
  });
  return {
    filesystems: filesystems.slice(0, 6),
    topUsers: counted(f, "top", "path")
      .slice(0, 12)
      .map((e) => ({ kb: e.count, path: e.value })),
    duRoot: f.optStr("duRoot"),
    duTimedOut: f.optStr("duTimedOut") === "true",
  };
}

/** systemd's ExecMainCode (CLD_* of waitid). */
const EXIT_CODES: Record<string, string> = { "1": "exited", "2": "killed", "3": "dumped" };

/** unit.*, oom.*, crash.* groups of collect_exit; a group is null when its first key is absent. */
function readExit(f: Fields): Exit {
  const code = f.optStr("unit.ExecMainCode");
  return {
    unit:
      f.optStr("unit") === null
        ? null
        : {
            name: f.str("unit"),
            activeState: f.optStr("unit.ActiveState"),
            result: f.optStr("unit.Result"),
            code: code === null ? null : (EXIT_CODES[code] ?? code),
            status: f.optInt("unit.ExecMainStatus"),
            mainPid: f.optInt("unit.ExecMainPID"),
            ageSeconds: f.optInt("unit.ageSeconds"),
            workingDirectory: f.optStr("unit.WorkingDirectory"),
          },
    unitWhy: f.optStr("unitWhy"),
    oomKill:
      f.optStr("oom.pid") === null
        ? null
        : {
            pid: f.int("oom.pid"),
            ageSeconds: f.int("oom.ageSeconds"),
            constraint: f.str("oom.constraint") === "memcg" ? "memcg" : "global",
            anonRssKb: f.optInt("oom.anonRssKb"),
            limitKb: f.optInt("oom.limitKb"),
            line: f.str("oom.line"),
          },
    oomKills: f.optInt("oomKills") ?? 0,
    kernelLogWhy: f.optStr("kernelLogWhy"),
    crash:
      f.optStr("crash.path") === null
        ? null
        : {
            path: f.str("crash.path"),
            pid: f.optInt("crash.pid"),
            ageSeconds: f.int("crash.ageSeconds"),
            error: f.optStr("crash.error"),
            frame: f.optStr("crash.frame"),
          },
    searched: f
      .all("searched")
      .map((e) => e.value)
      .slice(0, 10),
    memTotalKb: f.optInt("memTotalKb"),
  };
}
