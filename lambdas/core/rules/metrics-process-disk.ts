import type { Disk, Exit } from "../evidence/schema.js";
import { dataOf } from "../shared/section.js";
import type { MetricDef } from "./metrics.js";

/**
 * The metrics of process-down's reason (the probe's `exit` section) and of disk-full (its `disk` section
 * and `logs.noSpaceLeft`): part of the catalogue (`METRICS` in metrics.ts spreads them in).
 */
const metric = (def: MetricDef): MetricDef => def;

/** A duration, for "N ago" (seconds-based figures of the kernel log, crash files and systemd). */
const ago = (ms: number): string =>
  ms >= 3_600_000
    ? `${(ms / 3_600_000).toFixed(1)} h`
    : ms >= 60_000
      ? `${(ms / 60_000).toFixed(1)} min`
      : `${(ms / 1000).toFixed(1)} s`;

export const PROCESS_DISK_METRICS = {
  // ---- disk space (collect_disk) and the ENOSPC lines of the log
  "logs.noSpaceLeft": metric({
    type: "number",
    format: "count",
    label: "`No space left on device` lines in the log",
    sections: ["logs"],
    derive: (e) => dataOf(e.logs)?.noSpaceLeft ?? null,
    sentence: (m) => `${m["logs.noSpaceLeft"]} "No space left on device" lines in the log`,
  }),
  "disk.available": metric({
    type: "boolean",
    format: "boolean",
    label: "disk space of the service's filesystems checked",
    sections: [],
    derive: (e) => (dataOf(e.disk)?.filesystems.length ?? 0) > 0,
  }),
  "disk.maxUsedPercent": metric({
    type: "number",
    format: "percent",
    label: "fullest filesystem the service writes to (blocks or inodes)",
    sections: ["disk"],
    derive: (e) => {
      const f = fullest(dataOf(e.disk));
      return f ? fsUsed(f) : null;
    },
    sentence: (m) =>
      `${m["disk.fullestRole"]} filesystem ${m["disk.fullestMount"]} ${m["disk.maxUsedPercent"]}% used, ` +
      `${m["disk.fullestAvailMb"]} MB free`,
  }),
  "disk.fullestRole": metric({
    type: "string",
    format: "text",
    label: "what the fullest filesystem holds (log, tmp, cwd)",
    sections: ["disk"],
    derive: (e) => fullest(dataOf(e.disk))?.role ?? null,
  }),
  "disk.fullestMount": metric({
    type: "string",
    format: "text",
    label: "mount point of the fullest filesystem",
    sections: ["disk"],
    derive: (e) => fullest(dataOf(e.disk))?.mount ?? null,
  }),
  "disk.fullestAvailMb": metric({
    type: "number",
    format: "count",
    label: "free space on the fullest filesystem, MB",
    sections: ["disk"],
    derive: (e) => {
      const f = fullest(dataOf(e.disk));
      return f ? Math.floor(f.availKb / 1024) : null;
    },
  }),
  "disk.topUsers": metric({
    type: "string",
    format: "text",
    label: "top space users of the fullest filesystem",
    sections: ["disk"],
    derive: (e) => {
      const d = dataOf(e.disk);
      if (!d?.duRoot) return null;
      // du lists the root first (the total): the users are what is below it.
      const below = d.topUsers.filter((u) => u.path !== d.duRoot).slice(0, 5);
      const list = below.map((u) => `${u.path} ${mb(u.kb)}`).join(", ");
      return `${list || "nothing below the mount"}${d.duTimedOut ? " (du ran out of time: partial)" : ""}`;
    },
    sentence: (m) => `top space users: ${m["disk.topUsers"]}`,
  }),

  // ---- why a process that is gone exited (collect_exit)
  "exit.reason": metric({
    type: "string",
    format: "text",
    label: "why the process exited (oom-killed, crashed, exited, killed)",
    sections: ["exit"],
    derive: (e) => exitTrace(dataOf(e.exit))?.reason ?? null,
  }),
  "exit.traceAgeSeconds": metric({
    type: "number",
    format: "seconds",
    label: "age of the exit's trace",
    sections: ["exit"],
    derive: (e) => exitTrace(dataOf(e.exit))?.ageSeconds ?? null,
  }),
  "exit.pidConfirmed": metric({
    type: "boolean",
    format: "boolean",
    label: "the trace names the unit's main PID",
    sections: ["exit"],
    derive: (e) => exitTrace(dataOf(e.exit))?.pidConfirmed ?? null,
  }),
  "exit.trace": metric({
    type: "string",
    format: "text",
    label: "trace of the exit",
    sections: ["exit"],
    derive: (e) => exitTrace(dataOf(e.exit))?.text ?? null,
    sentence: (m) => `${m["exit.trace"]}`,
  }),
  "exit.status": metric({
    type: "number",
    format: "text",
    label: "exit status (systemd ExecMainStatus)",
    sections: ["exit"],
    derive: (e) => dataOf(e.exit)?.unit?.status ?? null,
  }),
  "exit.oomRssMb": metric({
    type: "number",
    format: "count",
    label: "resident memory of the JVM the OOM killer killed, MB",
    sections: ["exit"],
    derive: (e) => {
      const k = dataOf(e.exit)?.oomKill?.anonRssKb;
      return k === null || k === undefined ? null : Math.round(k / 1024);
    },
  }),
  "exit.memoryLimitMb": metric({
    type: "number",
    format: "count",
    label: "memory the JVM was allowed (its memory cgroup's limit, else the host's MemTotal), MB",
    sections: ["exit"],
    derive: (e) => {
      const x = dataOf(e.exit);
      const kb = x?.oomKill?.limitKb ?? x?.memTotalKb;
      return kb === null || kb === undefined ? null : Math.round(kb / 1024);
    },
  }),
  "exit.crashError": metric({
    type: "string",
    format: "text",
    label: "the crash file's error line",
    sections: ["exit"],
    derive: (e) => dataOf(e.exit)?.crash?.error ?? null,
  }),
  "exit.crashFile": metric({
    type: "string",
    format: "text",
    label: "the newest JVM crash file (hs_err_pid*.log)",
    sections: ["exit"],
    derive: (e) => dataOf(e.exit)?.crash?.path ?? null,
  }),
  "exit.unknownWhy": metric({
    type: "string",
    format: "text",
    label: "what was looked at to explain the exit",
    sections: ["exit"],
    derive: (e) => {
      const x = dataOf(e.exit);
      if (!x) return null;
      const kernel =
        x.kernelLogWhy ??
        (x.oomKill
          ? `the newest OOM kill of a java process was ${ago(x.oomKill.ageSeconds * 1000)} ago (pid ${x.oomKill.pid})`
          : "no OOM kill of a java process in the kernel log");
      const crash = x.crash
        ? `the newest crash file is ${x.crash.path}, ${ago(x.crash.ageSeconds * 1000)} old`
        : `no hs_err_pid*.log in ${x.searched.join(", ") || "the folders searched"}`;
      const unit = x.unit
        ? `systemd: ${x.unit.name} ${x.unit.code ?? "?"} with status ${x.unit.status ?? "?"}`
        : (x.unitWhy ?? "no unit");
      return `${unit}; ${kernel}; ${crash}`;
    },
  }),
} as const satisfies Record<string, MetricDef>;

const mb = (kb: number): string =>
  kb >= 1024 * 1024 ? `${(kb / 1024 / 1024).toFixed(1)} GB` : `${Math.round(kb / 1024)} MB`;
const fsUsed = (f: Disk["filesystems"][number]): number => Math.max(f.usedPercent, f.inodesUsedPercent ?? 0);
function fullest(d: Disk | undefined): Disk["filesystems"][number] | null {
  if (!d) return null;
  return d.filesystems.reduce<Disk["filesystems"][number] | null>(
    (a, f) => (a && fsUsed(a) >= fsUsed(f) ? a : f),
    null,
  );
}

export interface ExitTrace {
  reason: "oom-killed" | "crashed" | "exited" | "killed";
  ageSeconds: number;
  /** The trace names the unit's main PID (false also when no unit's PID was known to compare with). */
  pidConfirmed: boolean;
  text: string;
}

/**
 * The trace that explains a process's exit. With a unit whose main PID is known, a trace naming that PID
 * wins (an OOM kill, a crash file), else what systemd says (exited with a status, killed by a signal,
 * dumped core); without one, the newest OOM kill or crash file (by recency only: `pidConfirmed` false).
 */
export function exitTrace(x: Exit | undefined): ExitTrace | null {
  if (!x) return null;
  const pid = x.unit?.mainPid || null;
  const oom = x.oomKill
    ? {
        reason: "oom-killed" as const,
        ageSeconds: x.oomKill.ageSeconds,
        pid: x.oomKill.pid,
        text:
          `the kernel's OOM killer killed java pid ${x.oomKill.pid} ${ago(x.oomKill.ageSeconds * 1000)} ago` +
          (x.oomKill.anonRssKb !== null ? ` at ${mb(x.oomKill.anonRssKb)} resident` : "") +
          (x.oomKill.constraint === "memcg"
            ? ` (memory cgroup limit${x.oomKill.limitKb !== null ? ` ${mb(x.oomKill.limitKb)}` : ""})`
            : x.memTotalKb !== null
              ? ` (host out of memory, MemTotal ${mb(x.memTotalKb)})`
              : " (host out of memory)"),
      }
    : null;
  const crash = x.crash
    ? {
        reason: "crashed" as const,
        ageSeconds: x.crash.ageSeconds,
        pid: x.crash.pid,
        text: `the JVM crashed ${ago(x.crash.ageSeconds * 1000)} ago: ${x.crash.path}${x.crash.error ? `: ${x.crash.error}` : ""}${x.crash.frame ? `; problematic frame ${x.crash.frame}` : ""}`,
      }
    : null;
  const traces = [oom, crash].filter((t): t is NonNullable<typeof t> => t !== null);
  if (pid !== null) {
    const named = traces.find((t) => t.pid === pid);
    if (named)
      return { reason: named.reason, ageSeconds: named.ageSeconds, pidConfirmed: true, text: named.text };
    const u = x.unit;
    if (u?.code && u.ageSeconds !== null) {
      const reason = u.code === "exited" ? "exited" : u.code === "dumped" ? "crashed" : "killed";
      const how =
        u.code === "exited"
          ? `exited with status ${u.status ?? "?"}`
          : `was ${u.code} by signal ${u.status ?? "?"}`;
      return {
        reason,
        ageSeconds: u.ageSeconds,
        pidConfirmed: true,
        text: `systemd: ${u.name} main process ${pid} ${how} ${ago(u.ageSeconds * 1000)} ago (result ${u.result ?? "?"})`,
      };
    }
  }
  const newest = traces.sort((a, b) => a.ageSeconds - b.ageSeconds)[0];
  if (!newest) return null;
  return {
    reason: newest.reason,
    ageSeconds: newest.ageSeconds,
    pidConfirmed: false,
    text: newest.text,
  };
}
