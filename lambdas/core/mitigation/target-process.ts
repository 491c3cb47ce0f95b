import type { Evidence } from "../evidence/schema.js";
import { dataOf } from "../shared/section.js";

/**
 * The process a restart may stop: exactly the one the saved evidence identified (PID and start
 * time), or nothing when nothing was running. Pure: decided from evidence alone, so the CLI and the
 * state machine refuse alike. The action script re-checks the same PID and start time on the host.
 */
export type TargetProcess =
  | { readonly ok: true; readonly pid: number; readonly startTicks: number }
  /** Nothing ran on the port when the evidence was taken: a restart only starts the service. */
  | { readonly ok: true; readonly pid: null; readonly startTicks: null }
  | { readonly ok: false; readonly reason: string };

/**
 * @param before the evidence saved before any action
 * @param later evidence collected since (after a relief batch), or null: it must name the same process
 */
export function targetProcess(before: Evidence | null, later: Evidence | null = null): TargetProcess {
  if (!before) return { ok: false, reason: "no evidence was saved: no process is acted on without it" };
  const p = dataOf(before.process);
  if (!p) {
    if (dataOf(before.listener)?.listening !== false) {
      return {
        ok: false,
        reason: `the evidence does not identify the process on port ${before.input.port} (${before.process.status === "unavailable" ? before.process.reason : "no process section"}): it is not stopped`,
      };
    }
    return { ok: true, pid: null, startTicks: null };
  }
  if (p.pid === 1) return { ok: false, reason: "PID 1 is the init process: it is never stopped" };
  if (p.pidSource === "input" && p.listenerRelation !== "owner" && p.listenerRelation !== "launcher-child") {
    return {
      ok: false,
      reason: `PID ${p.pid} was given with --pid but does not own the listener of port ${before.input.port} (${p.listenerRelation ?? "not checked"}): it is not stopped`,
    };
  }
  if (p.startTicks === null || p.startTicks === undefined) {
    return {
      ok: false,
      reason: `the evidence has no start time for PID ${p.pid}, so a reused PID could not be told apart: it is not stopped`,
    };
  }
  const l = later ? dataOf(later.process) : undefined;
  if (l && (l.pid !== p.pid || l.startTicks !== p.startTicks)) {
    return {
      ok: false,
      reason: `the process changed since the evidence was saved (PID ${p.pid} started at tick ${p.startTicks}, now PID ${l.pid} started at tick ${l.startTicks ?? "unknown"}): it is not stopped`,
    };
  }
  return { ok: true, pid: p.pid, startTicks: p.startTicks };
}
