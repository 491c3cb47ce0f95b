import { z } from "zod";
import type { Evidence } from "../../evidence/schema.js";
import { dataOf } from "../../shared/section.js";
import { ABS_PATH_OR_EMPTY, IDENTITY_PARAMETERS, targetIdentity, UINT } from "../host-command.js";
import { defineAction, mainRun } from "./types.js";

/**
 * delete-rotated-logs: frees a full log filesystem by deleting the diagnosed process's ROTATED logs,
 * oldest first, keeping the newest few; never the live log, never a file any process has open, only
 * regular files of the JVM's user in the folder of a log the process has open (docs/security.md). Opt-in:
 * no shipped ladder names it; an override adds it to the `disk-full` ladder (docs/rules.md).
 */
export const params = z
  .object({
    /** Rotated files kept, newest by modification time (recent history for the investigation). */
    keepNewest: z.number().int().min(0).max(1000).default(2),
    /** Act only while the log's filesystem is at least this full (the host re-checks with df). */
    minUsedPercent: z.number().int().min(0).max(100).default(90),
    /** Blast-radius limit: refuse when more files qualify. */
    maxFiles: z.number().int().min(1).max(1_000_000).default(5000),
  })
  .strict();

const DEFAULTS = params.parse({});

const usable = (dir: string | null | undefined): string | null =>
  dir && dir !== "/" && new RegExp(ABS_PATH_OR_EMPTY).test(dir) ? dir : null;

/**
 * The folder of the service's log in the saved evidence: the log the probe read, else the folder of the
 * log it found open on the process's stdout/stderr (the disk section's `log` filesystem). Null: unknown.
 */
export function evidenceLogDir(e: Evidence | null | undefined): string | null {
  const log = dataOf(e?.logs)?.path;
  const fromLog = log?.startsWith("/") ? usable(log.slice(0, log.lastIndexOf("/"))) : null;
  return fromLog ?? usable(dataOf(e?.disk)?.filesystems.find((f) => f.role === "log")?.path);
}
const logDirOf = (dir: string | null | undefined): string | null => usable(dir);

export default defineAction({
  id: "delete-rotated-logs",
  params,
  destructive: true,
  command: {
    name: "delete-rotated-logs",
    script: "actions/delete-rotated-logs.sh",
    description: "runbook-autopilot action: delete rotated logs (never the live log) in the app's log folder",
    executionTimeoutSeconds: 300,
    parameters: {
      ...IDENTITY_PARAMETERS,
      logDir: {
        description: "Folder of the log the process has open (where its rotated logs are)",
        allowedPattern: ABS_PATH_OR_EMPTY,
        default: "",
      },
      keepNewest: {
        description: "Rotated files kept, newest first",
        allowedPattern: UINT(4),
        default: String(DEFAULTS.keepNewest),
      },
      minUsedPercent: {
        description: "Act only when the filesystem is at least this full, %",
        allowedPattern: UINT(3),
        default: String(DEFAULTS.minUsedPercent),
      },
      maxFiles: {
        description: "Refuse above this many files",
        allowedPattern: UINT(7),
        default: String(DEFAULTS.maxFiles),
      },
      dryRun: { description: "true: list only", allowedPattern: "^(true|false)$", default: "false" },
    },
  },
  blocked: (ctx) =>
    logDirOf(ctx.logDir) === null
      ? "no log was read (the evidence names no log file): its folder, where rotated logs would be, is unknown"
      : null,
  describe: (p, ctx) =>
    `Delete rotated logs (name.log.N[.gz], name.log-YYYYMMDD[.gz], name.YYYY-MM-DD[.N].log[.gz], name.log.gz) in ${logDirOf(ctx.logDir) ?? "the log's folder"}, oldest first, keeping the newest ${p.keepNewest}, only while its filesystem is at least ${p.minUsedPercent}% full: regular files of the JVM's user that no process has open; never the live log, at most ${p.maxFiles} files.`,
  runs: (p, ctx) => {
    const target = targetIdentity(ctx, "nothing ran on the port: no process's log folder to free");
    if (!target.ok) return target;
    const dir = logDirOf(ctx.logDir);
    if (dir === null) return { ok: false, reason: "no log was read: its folder is unknown" };
    return mainRun(
      {
        ...target.parameters,
        logDir: dir,
        keepNewest: String(p.keepNewest),
        minUsedPercent: String(p.minUsedPercent),
        maxFiles: String(p.maxFiles),
        dryRun: "false",
      },
      120_000,
    );
  },
  nothingToDo: "no rotated log to delete (or the filesystem is no longer full)",
  summarize: (outputs) => {
    const kv = outputs.at(-1)?.kv ?? {};
    return `deleted ${kv.deleted} rotated logs in ${kv.dir} (${kv.freedKb} kB freed; filesystem ${kv.usedPercentBefore}% → ${kv.usedPercentAfter}% used)`;
  },
});
