import { buildEvidence } from "../../../lambdas/core/evidence/build-evidence.js";
import type { Evidence } from "../../../lambdas/core/evidence/schema.js";
import type { ParseResult } from "../../../lambdas/core/parsers/errors.js";
import { parseHealth } from "../../../lambdas/core/parsers/health.js";
import { parseClassHistogram } from "../../../lambdas/core/parsers/histogram.js";
import { parseJstatGcutil } from "../../../lambdas/core/parsers/jstat.js";
import { parseLogScan } from "../../../lambdas/core/parsers/logs.js";
import { parseSsSummary } from "../../../lambdas/core/parsers/ss-summary.js";
import { ok, type Section, unavailable } from "../../../lambdas/core/shared/section.js";
import { parseJstack } from "./jstack.js";
import { parseFdTargets, parseFileNr, parseProcLimits } from "./proc.js";
import { parseSs, parseSsListen } from "./ss.js";

/**
 * Raw tool outputs of one capture (file name → text), named as in test/fixtures/raw/<scenario>/
 * and in the probe's SSM_rawDir: ss-tanoi.txt, ss-s.txt, ss-ltn.txt, proc-limits.txt,
 * proc-fd.txt | fd-targets.txt, jcmd-class-histogram.txt | class-histogram.txt, jmap-histo-live.txt,
 * jstack.txt, jstat-gcutil.txt, health.txt, app-log.txt | app-log-tail.txt, file-nr.txt.
 */
export type RawFiles = Readonly<Record<string, string | undefined>>;

export interface RawMeta {
  readonly target: string;
  readonly collectedAt: string;
  readonly port: number;
  readonly pid: number | null;
  readonly healthPath?: string;
  readonly logPath?: string | null;
  readonly idleThresholdMs?: number;
  readonly jstatIntervalMs?: number;
  readonly hostname?: string;
  readonly kernel?: string | null;
  /** e.g. "Apache Tomcat/10.1.60 (Debian)" from ServerInfo. */
  readonly tomcatServerInfo?: string | null;
  readonly user?: string;
  readonly uid?: number;
}

/** The line a failed tool printed that says why (an exception or "Unable ..." line). */
export function toolFailureReason(tool: string, text: string): string {
  const lines = text.split("\n").map((l) => l.trim());
  const line =
    lines.find((l) => /Exception|Error|Unable|denied|not found|No such|not permitted/.test(l)) ??
    lines.filter((l) => l !== "" && !/^\d+:$/.test(l)).slice(-1)[0] ??
    "no output";
  return `${tool} failed: ${line.slice(0, 300)}`;
}

function fromFile<T>(
  name: string,
  text: string | undefined,
  parse: (t: string) => ParseResult<T>,
  tool: string,
): Section<T> {
  if (text === undefined) return unavailable(`not captured (${name} missing)`);
  const r = parse(text);
  if (r.ok) return ok(r.value);
  return unavailable(`${toolFailureReason(tool, text)} (${r.error.message.slice(0, 200)})`);
}

/** Builds a validated Evidence document from raw tool outputs (used for fixtures and replays). */
export function evidenceFromRawFiles(files: RawFiles, meta: RawMeta): ParseResult<Evidence> {
  const idleThresholdMs = meta.idleThresholdMs ?? 120_000;
  const healthPath = meta.healthPath ?? "/health";
  const url = `http://127.0.0.1:${meta.port}${healthPath}`;
  const fdText = files["fd-targets.txt"] ?? files["proc-fd.txt"];
  const limits =
    files["proc-limits.txt"] === undefined ? undefined : parseProcLimits(files["proc-limits.txt"]);
  const jcmd = files["jcmd-class-histogram.txt"] ?? files["class-histogram.txt"];
  const jmap = files["jmap-histo-live.txt"];
  let classHistogram = fromFile(
    "jcmd-class-histogram.txt",
    jcmd,
    (t) =>
      parseClassHistogram(t, {
        tool: "jcmd",
        command: `jcmd ${meta.pid} GC.class_histogram`,
        forcedFullGc: true,
      }),
    "jcmd",
  );
  if (classHistogram.status === "unavailable" && jmap !== undefined) {
    const viaJmap = fromFile(
      "jmap-histo-live.txt",
      jmap,
      (t) =>
        parseClassHistogram(t, { tool: "jmap", command: `jmap -histo:live ${meta.pid}`, forcedFullGc: true }),
      "jmap",
    );
    classHistogram =
      viaJmap.status === "ok" ? viaJmap : unavailable(`${classHistogram.reason}; ${viaJmap.reason}`);
  }
  const healthText = files["health.txt"];
  const health = healthText === undefined ? undefined : parseHealth(healthText, { url });
  const logText = files["app-log.txt"] ?? files["app-log-tail.txt"];
  const logPath = meta.logPath ?? null;
  const tomcatVersion = /Tomcat\/(\d[\w.-]*)/.exec(meta.tomcatServerInfo ?? "")?.[1];

  return buildEvidence({
    schemaVersion: 1,
    collectedAt: meta.collectedAt,
    target: meta.target,
    input: { port: meta.port, pid: meta.pid, healthPath, logPath },
    collector: { version: "raw-files", durationMs: 0, timedOut: [], outputChars: 0 },
    host: ok({
      hostname: meta.hostname ?? meta.target,
      kernel: meta.kernel ?? null,
      loadAverage1m: null,
      cpuCount: null,
    }),
    process:
      meta.pid === null
        ? unavailable("no pid recorded")
        : ok({
            pid: meta.pid,
            user: meta.user ?? "root",
            uid: meta.uid ?? 0,
            cmdline: "",
            isJava: true,
            uptimeSeconds: null,
            cpuPercent: null,
            pidSource: "input",
          }),
    listener: fromFile("ss-ltn.txt", files["ss-ltn.txt"], parseSsListen, "ss -ltn"),
    fds:
      fdText === undefined || limits === undefined
        ? unavailable("not captured (proc-fd.txt or proc-limits.txt missing)")
        : !limits.ok
          ? unavailable(`/proc/PID/limits unreadable: ${limits.error.message}`)
          : (() => {
              const fds = parseFdTargets(fdText);
              return fds.ok
                ? ok({
                    ...fds.value,
                    limitSoft: limits.value.maxOpenFiles.soft,
                    limitHard: limits.value.maxOpenFiles.hard,
                  })
                : unavailable(`fd list unreadable: ${fds.error.message}`);
            })(),
    sockets: fromFile(
      "ss-tanoi.txt",
      files["ss-tanoi.txt"],
      (t) => {
        const r = parseSs(t, { port: meta.port, idleThresholdMs });
        return r.ok ? { ok: true, value: r.value.aggregate } : r;
      },
      "ss -tanoi",
    ),
    socketSummary: fromFile("ss-s.txt", files["ss-s.txt"], parseSsSummary, "ss -s"),
    fileNr: fromFile("file-nr.txt", files["file-nr.txt"], parseFileNr, "/proc/sys/fs/file-nr"),
    classHistogram,
    threads: fromFile(
      "jstack.txt",
      files["jstack.txt"],
      (t) => {
        const r = parseJstack(t);
        return r.ok ? { ok: true, value: r.value.aggregate } : r;
      },
      "jstack",
    ),
    heap: fromFile(
      "jstat-gcutil.txt",
      files["jstat-gcutil.txt"],
      (t) => parseJstatGcutil(t, { sampleIntervalMs: meta.jstatIntervalMs ?? 500 }),
      "jstat",
    ),
    health:
      health?.ok === true
        ? health.value
        : {
            url,
            outcome: "error",
            httpStatus: null,
            latencyMs: 0,
            detail: health === undefined ? "health not captured" : health.error.message,
          },
    logs:
      logText === undefined
        ? unavailable("no log captured")
        : fromFile(
            "app-log.txt",
            logText,
            (t) => parseLogScan(t, { path: logPath ?? "app.log" }),
            "log scan",
          ),
    tomcat: tomcatVersion
      ? ok({ version: tomcatVersion, source: "serverinfo" })
      : unavailable("Tomcat version not captured"),
  });
}
