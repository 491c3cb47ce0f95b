import { buildEvidence } from "../evidence/build-evidence.js";
import type { Evidence, Health } from "../evidence/schema.js";
import { REDACTED } from "../redact/index.js";
import { type ParseResult, parseFailure, splitLines } from "./errors.js";
import { parseHealth } from "./health.js";
import { readDisk } from "./probe-disk.js";
import {
  Fields,
  PROBE_PARSER as P,
  type ProbeDocument,
  section,
  splitProbeOutput,
} from "./probe-document.js";
import { readExit } from "./probe-exit.js";
import { attachOf, sectionTimesOf } from "./probe-extras.js";
import { readClassHistogram, readHeap, readLogs, readThreads, readTomcat } from "./probe-jvm.js";
import { networkSection } from "./probe-network.js";
import {
  readFds,
  readFileNr,
  readHost,
  readListener,
  readProcess,
  readSocketSummary,
  readSockets,
} from "./probe-process.js";

export {
  counted,
  Fields,
  PROBE_FORMAT,
  type ProbeDocument,
  type ProbeSection,
  section,
  splitProbeOutput,
} from "./probe-document.js";

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
    collector: readCollector(doc, stdout),
    host: section(doc, "host", readHost),
    process: section(doc, "process", readProcess),
    listener: section(doc, "listener", readListener),
    fds: section(doc, "fds", readFds),
    sockets: section(doc, "sockets", readSockets),
    socketSummary: section(doc, "socketSummary", readSocketSummary),
    fileNr: section(doc, "fileNr", readFileNr),
    classHistogram: section(doc, "classHistogram", readClassHistogram),
    threads: section(doc, "threads", readThreads),
    heap: section(doc, "heap", readHeap),
    health: readHealth(doc, port, healthPath),
    logs: section(doc, "logs", readLogs),
    tomcat: section(doc, "tomcat", readTomcat),
    disk: section(doc, "disk", readDisk),
    exit: section(doc, "exit", readExit),
  };
  return buildEvidence({ ...draft, ...networkSection(doc) });
}

/** The health section as key=value lines; when it was not probed, an `error` outcome saying why. */
function readHealth(doc: ProbeDocument, port: number, healthPath: string): Health {
  const health = section<Health>(doc, "health", (_f, s) =>
    parseHealth(s.fields.map((f) => `${f.key}=${f.value}`).join("\n")),
  );
  return health.status === "ok"
    ? health.data
    : {
        url: `http://127.0.0.1:${port}${healthPath}`,
        outcome: "error",
        httpStatus: null,
        latencyMs: 0,
        detail: `health not probed: ${health.reason}`,
      };
}

/** The collector's own account, from the end and raw sections: duration, time-outs, redaction, cuts. */
function readCollector(doc: ProbeDocument, stdout: string): Evidence["collector"] {
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
  return {
    version: doc.version,
    durationMs,
    timedOut,
    outputChars: stdout.length,
    ...(redaction ? { redaction } : {}),
    ...(truncations.length ? { truncations } : {}),
    ...attachOf(endFields),
    ...sectionTimesOf(endFields),
  };
}
