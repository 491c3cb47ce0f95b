import type { Fds } from "../../../lambdas/core/evidence/schema.js";
import { type ParseResult, parsed, parseFailure, splitLines } from "../../../lambdas/core/parsers/errors.js";
import { cCompare } from "./ss.js";

export interface ProcLimit {
  /** null = unlimited */
  readonly soft: number | null;
  readonly hard: number | null;
  readonly units: string | null;
}

export interface ProcLimits {
  readonly maxOpenFiles: ProcLimit;
  /** Every limit by its name ("Max open files", "Max processes", ...). */
  readonly all: Record<string, ProcLimit>;
}

const limitValue = (v: string): number | null => (v === "unlimited" ? null : Number(v));

/** Parses /proc/PID/limits. */
export function parseProcLimits(raw: string): ParseResult<ProcLimits> {
  const P = "proc-limits";
  const lines = splitLines(raw);
  const header = 'the header "Limit  Soft Limit  Hard Limit  Units"';
  if (lines.length === 0 || !/^Limit\s+Soft Limit\s+Hard Limit/.test(lines[0] ?? ""))
    return parseFailure(P, 1, header, lines[0] ?? "");
  const all: Record<string, ProcLimit> = {};
  for (let i = 1; i < lines.length; i++) {
    const text = lines[i] ?? "";
    if (text.trim() === "") continue;
    const m = /^(\S.*?)\s{2,}(\d+|unlimited)\s+(\d+|unlimited)(?:\s+(\S+))?\s*$/.exec(text);
    if (!m?.[1] || !m[2] || !m[3])
      return parseFailure(P, i + 1, "a limit line `NAME  SOFT  HARD  [UNITS]`", text);
    all[m[1]] = { soft: limitValue(m[2]), hard: limitValue(m[3]), units: m[4] ?? null };
  }
  const maxOpenFiles = all["Max open files"];
  if (!maxOpenFiles) return parseFailure(P, lines.length + 1, 'a "Max open files" line', "");
  return parsed({ maxOpenFiles, all });
}

export type FdKind = keyof Fds["byKind"];

/** The kind of an fd target, as the probe's awk classifies it. */
export function fdKindOf(target: string): FdKind {
  if (target.startsWith("socket:[")) return "socket";
  if (target.startsWith("pipe:[")) return "pipe";
  if (target.startsWith("anon_inode:")) return "anonInode";
  if (target.startsWith("/")) return "file";
  return "other";
}

export type FdTargets = Omit<Fds, "limitSoft" | "limitHard">;

/**
 * Parses the fd targets of a process: the probe's `find /proc/PID/fd -printf '%f %l\n'` lines
 * (`13 socket:[13917]`) or `ls -l /proc/PID/fd` lines (`... 13 -> socket:[13917]`).
 */
export function parseFdTargets(raw: string, options: { topFiles?: number } = {}): ParseResult<FdTargets> {
  const P = "fd-targets";
  const lines = splitLines(raw);
  const expected = "an fd line `FD TARGET` or `... FD -> TARGET`";
  const byKind = { socket: 0, file: 0, pipe: 0, anonInode: 0, other: 0 };
  const files = new Map<string, number>();
  let open = 0;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i] ?? "";
    if (text.trim() === "" || /^total \d+$/.test(text)) continue;
    const m = /\s(\d+) -> (.+)$/.exec(text) ?? /^(\d+) (.+)$/.exec(text);
    const target = m?.[2];
    if (target === undefined) return parseFailure(P, i + 1, expected, text);
    open++;
    const kind = fdKindOf(target);
    byKind[kind]++;
    if (kind === "file") files.set(target, (files.get(target) ?? 0) + 1);
  }
  if (open === 0) return parseFailure(P, lines.length + 1, expected, "");
  const topFiles = [...files.entries()]
    .sort((a, b) => b[1] - a[1] || cCompare(a[0], b[0]))
    .slice(0, options.topFiles ?? 10)
    .map(([path, count]) => ({ path: path.slice(0, 200), count }));
  return parsed({ open, byKind, topFiles });
}

/** Parses /proc/sys/fs/file-nr: `allocated unused max`. */
export function parseFileNr(raw: string): ParseResult<{ allocated: number; max: number }> {
  const lines = splitLines(raw);
  const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(lines[0] ?? "");
  if (!m) return parseFailure("file-nr", 1, "`ALLOCATED UNUSED MAX`", lines[0] ?? "");
  return parsed({ allocated: Number(m[1]), max: Number(m[3]) });
}
