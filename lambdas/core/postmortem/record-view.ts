import type { Evidence } from "../evidence/schema.js";
import { shortClassName, webSocketSessions } from "../evidence/sessions.js";
import { keyFigures } from "../incident/record.js";
import type { ActionResult, IncidentRecord, KeyFigures, Step } from "../incident/schema.js";
import { changesHost as actionChangesHost } from "../mitigation/actions/registry.js";
import { dataOf } from "../shared/section.js";

/** Read-only views of the execution record shared by the postmortem's modules. */

export const STEP_TITLES: Record<Step["id"], string> = {
  collect: "Collect evidence",
  diagnose: "Diagnose",
  "save-evidence": "Save evidence",
  plan: "Plan mitigation",
  apply: "Apply mitigation",
  "collect-after-relief": "Collect evidence after relief",
  verify: "Verify recovery",
  record: "Record",
  postmortem: "Write postmortem",
};

export const STATUS_LABELS: Record<IncidentRecord["status"], string> = {
  running: "Running (record written mid-run)",
  recovered: "Recovered",
  "not-down": "Not down on the host",
  planned: "Planned only (nothing changed)",
  declined: "Mitigation declined",
  cooldown: "Skipped: target in cooldown",
  escalated: "Escalated to a human",
  braked: "Fleet brake: escalated, nothing changed",
  failed: "Run failed",
  interrupted: "Run interrupted",
};

export function msBetween(from: string | null | undefined, to: string | null | undefined): number | null {
  if (!from || !to) return null;
  const d = Date.parse(to) - Date.parse(from);
  return Number.isFinite(d) ? Math.max(0, d) : null;
}

export function stepOf(record: IncidentRecord, id: Step["id"]): Step | undefined {
  return record.steps.find((s) => s.id === id);
}

export interface Snapshot {
  readonly label: "before" | "after relief" | "after";
  readonly evidence: Evidence | null;
  readonly figures: KeyFigures | null;
  /** Where this snapshot's evidence was saved, relative to the incident folder, or null. */
  readonly link: string | null;
}

/** Key figures of a moment: recorded in `verification`, else computed from that moment's evidence. */
function figuresOf(recorded: KeyFigures | null | undefined, evidence: Evidence | null): KeyFigures | null {
  return recorded ?? (evidence ? keyFigures(evidence) : null);
}

/** The saved file a snapshot's figures can be checked in (the JSON evidence, else the probe's output). */
function linkOf(record: IncidentRecord, names: readonly string[]): string | null {
  for (const n of names) if (record.artifacts.some((a) => a.name === n)) return n;
  return null;
}

export function snapshotsOf(record: IncidentRecord): Snapshot[] {
  const v = record.verification;
  const e = record.evidence;
  return [
    {
      label: "before",
      evidence: e.before,
      figures: figuresOf(v?.before, e.before),
      link: linkOf(record, ["evidence/evidence-before.json", "evidence/probe-before.txt"]),
    },
    {
      label: "after relief",
      evidence: e.afterRelief,
      figures: figuresOf(v?.afterRelief, e.afterRelief),
      link: linkOf(record, ["evidence/evidence-after-relief.json", "evidence/probe-after-relief.txt"]),
    },
    {
      label: "after",
      evidence: e.after,
      figures: figuresOf(v?.after, e.after),
      link: linkOf(record, ["evidence/evidence-after.json", "evidence/probe-after.txt"]),
    },
  ];
}

/** Actions that change the host (the registry's `destructive`); notify-only and escalate only tell people. */
export function changesHost(record: IncidentRecord, a: ActionResult): boolean {
  const rung = record.plan?.ladder.find((r) => r.rung === a.rung && r.action === a.action);
  return actionChangesHost(a.action) || rung?.destructive === true;
}

/** The first action that was applied and changed the host (the mitigation), if any. */
export function firstApplied(record: IncidentRecord): ActionResult | undefined {
  return record.actions.find((a) => a.status === "applied" && changesHost(record, a));
}

const later = (a: string, b: string | null): string => (b !== null && Date.parse(b) > Date.parse(a) ? b : a);

export interface Milestones {
  readonly diagnosedAt: string | null;
  /** When the mitigation began: the first change on the host (see `mitigationStartOf`). */
  readonly mitigatedAt: string | null;
  /** What changed the host first and how well its time is known (null: nothing changed it). */
  readonly mitigationStart: MitigationStart | null;
  readonly recoveredAt: string | null;
}

/** A relief batch that reported a change (kill-idle-connections' first, partial run). */
function reliefChanged(a: ActionResult): boolean {
  const relief = a.details.relief as Record<string, unknown> | undefined;
  return relief?.result === "ok";
}

export interface MitigationStart {
  readonly at: string;
  /** False: `at` is an upper bound ("no later than"), the record does not hold the first change's time. */
  readonly known: boolean;
  /** What changed the host first: "the relief batch of kill-idle-connections", "restart-service". */
  readonly what: string;
  /** One clause on where `at` comes from, for the reader. */
  readonly basis: string;
}

/**
 * When the mitigation first changed the host. The action result's `firstChangeAt` (the send time of its
 * first run that reported a change: the relief batch, the restart's stop, the heap dump) is exact. Records
 * written before it existed give an upper bound: the collection after the relief batch (it runs once the
 * batch has returned), else the end of the action.
 */
export function mitigationStartOf(record: IncidentRecord, a: ActionResult): MitigationStart {
  const relief = reliefChanged(a);
  const what = relief ? `the relief batch of ${a.action}` : a.action;
  if (a.firstChangeAt)
    return {
      at: a.firstChangeAt,
      known: true,
      what,
      basis: `when ${what} was sent to the host (its first change)`,
    };
  const afterRelief = relief
    ? record.steps.find(
        (s) =>
          s.id === "collect-after-relief" &&
          Date.parse(s.startedAt) >= Date.parse(a.startedAt) &&
          Date.parse(s.startedAt) <= Date.parse(a.endedAt),
      )
    : undefined;
  return afterRelief
    ? {
        at: afterRelief.startedAt,
        known: false,
        what,
        basis: `no later than the collection after ${what} (the record lacks the batch's send time)`,
      }
    : {
        at: a.endedAt,
        known: false,
        what,
        basis: `no later than the end of ${a.action} (the record lacks the time of its first change)`,
      };
}

/**
 * The times that matter, from the record alone (docs/postmortem.md, "Times that matter"):
 * diagnosed = end of a successful `diagnose`; mitigation began = the first change on the host of the first
 * applied action that changed the host (`mitigationStartOf`); recovery verified (recovered runs only) = that
 * action's passing `healthyAfter` check (it closes `apply`), else the end of `verify`; never earlier than
 * the mitigation.
 */
export function milestonesOf(record: IncidentRecord): Milestones {
  const diagnose = stepOf(record, "diagnose");
  const diagnosedAt = diagnose?.status === "ok" ? diagnose.endedAt : null;
  const mitigation = firstApplied(record);
  const began = mitigation ? mitigationStartOf(record, mitigation) : null;
  const mitigatedAt = began ? later(began.at, diagnosedAt) : null;
  let recoveredAt: string | null = null;
  if (record.status === "recovered" && record.verification?.recovered) {
    const fixing = record.actions.find(
      (a) => a.status === "applied" && a.healthyAfter === true && changesHost(record, a),
    );
    const apply = record.steps.findLast((s) => s.id === "apply" && s.endedAt !== null);
    const verify = record.steps.findLast((s) => s.id === "verify" && s.status === "ok");
    const checkedAt = fixing ? later(fixing.endedAt, apply?.endedAt ?? null) : null;
    const found =
      checkedAt ?? verify?.endedAt ?? record.verification.after?.at ?? record.endedAt ?? record.startedAt;
    recoveredAt = later(later(found, mitigatedAt), diagnosedAt);
  }
  return { diagnosedAt, mitigatedAt, mitigationStart: began, recoveredAt };
}

/** "rung 1 (kill-idle-connections) did not run: declined by jdoe", for the rung a person declined, or null. */
export function declinedRungOf(record: IncidentRecord): string | null {
  const d = record.actions.findLast((a) => a.status === "declined");
  return d ? `rung ${d.rung + 1} (${d.action}) did not run: ${d.reason.replace(/\.$/, "")}` : null;
}

/**
 * How the run ended, said once (the header shows the status's label beside it). The status reason is a
 * whole sentence about the outcome, so it is used as it is, except where it repeats itself or the label:
 * a recovery (the action that brought the service back says more), a declined rung (older records say
 * "Mitigation declined (X was declined: …)"; the rung's own result names who declined), the fleet brake
 * (older records say "Braked: fleet brake: …"; the apply step keeps the brake's own reason) and a service
 * that was not down (the impact sentence already says it answered).
 */
export function outcomeSentenceOf(record: IncidentRecord): string {
  const end = (s: string) => (/[.!?…]$/.test(s) ? s : `${s}.`);
  if (record.status === "recovered") {
    const applied = record.actions.find((a) => a.status === "applied" && a.healthyAfter === true);
    if (applied) return end(`Mitigated in place by ${applied.action}: ${formatNumbersIn(applied.reason)}`);
  }
  // The impact sentence already says the service answered on the host; the status reason says it again.
  if (record.status === "not-down") return "Nothing was changed on the host.";
  if (record.status === "declined") {
    const rung = declinedRungOf(record);
    if (rung) return end(`Not mitigated: ${rung}`);
  }
  if (record.status === "braked") {
    const why = stepOf(record, "apply")?.outputs.reason;
    if (typeof why === "string" && why !== "")
      return `Nothing was changed on the host: ${why.replace(/\.$/, "")}.${/escalat/i.test(why) ? "" : " Escalated to a person."}`;
  }
  return end(record.statusReason.trim());
}

/** Numbers of four digits or more in record prose get thousands separators, except ports, PIDs and times. */
export function formatNumbersIn(text: string): string {
  return text.replace(
    /(^|[^\w.:/-])(\d{4,})(?![\w.:/-]*\d)/g,
    (whole: string, pre: string, digits: string, offset: number) => {
      if (
        /(port|PID|pid|process|java_pid|Bugzilla|BZ|bug|CVE-\d+-)\s*$/i.test(
          text.slice(0, offset + pre.length),
        )
      )
        return whole;
      return `${pre}${Number(digits).toLocaleString("en-US")}`;
    },
  );
}

/**
 * The session class the record's histograms counted most of, by its short name (`WsSession`, Jetty's
 * `WebSocketSession`), from the first histogram with sessions (before, after relief, after); null when
 * none counted any, so the caller says "WebSocket sessions" rather than guess a framework.
 */
export function sessionClassOf(record: IncidentRecord): string | null {
  const e = record.evidence;
  for (const snapshot of [e.before, e.afterRelief, e.after]) {
    const h = snapshot ? dataOf(snapshot.classHistogram) : undefined;
    const name = h ? webSocketSessions(h).className : null;
    if (name) return shortClassName(name);
  }
  return null;
}

/** "WsSession instances" (Jetty: "WebSocketSession instances"), "WebSocket sessions" when no class counted any. */
export function sessionsLabel(record: IncidentRecord): string {
  const name = sessionClassOf(record);
  return name ? `${name} instances` : "WebSocket sessions";
}
