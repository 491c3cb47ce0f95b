import type { Evidence } from "../evidence/schema.js";
import { keyFigures } from "../incident/record.js";
import type { IncidentRecord } from "../incident/schema.js";
import { dataOf } from "../shared/section.js";
import { formatCount, formatDuration, formatTime } from "./format.js";
import { firstApplied, outcomeSentenceOf, sessionsLabel, snapshotsOf, stepOf } from "./record-view.js";
import { shortReason } from "./root-cause.js";
import type { Postmortem } from "./schema.js";

export function lessonsOf(
  record: IncidentRecord,
  lesson: string,
  ttdMs: number | null,
): Postmortem["lessons"] {
  return {
    takeaway: lesson,
    wentWell: wentWellOf(record, ttdMs),
    wentWrong: wentWrongOf(record),
    lucky: luckyOf(record),
  };
}

function wentWellOf(record: IncidentRecord, ttdMs: number | null): string[] {
  const wentWell: string[] = [];
  const save = stepOf(record, "save-evidence");
  const applied = firstApplied(record);
  if (
    save?.status === "ok" &&
    save.endedAt &&
    (!applied || Date.parse(save.endedAt) <= Date.parse(applied.startedAt))
  ) {
    // The first change when the record has it; else the rung's start, which no change can precede.
    wentWell.push(
      !applied
        ? "Evidence was saved for later analysis."
        : applied.firstChangeAt
          ? `Evidence was saved (${formatTime(save.endedAt)}) before the first change on the host (${formatTime(applied.firstChangeAt)}).`
          : `Evidence was saved (${formatTime(save.endedAt)}) before the mitigation started (${formatTime(applied.startedAt)}).`,
    );
  }
  if (record.diagnosis && record.diagnosis.rootCause.id !== "unknown") {
    wentWell.push(
      `The diagnosis named ${record.diagnosis.rootCause.id} with cited evidence ${formatDuration(ttdMs)} after the start.`,
    );
  }
  if (record.diagnosis && record.diagnosis.ruledOut.length > 0) {
    wentWell.push(
      `${record.diagnosis.ruledOut.length} other hypotheses were ruled out with evidence (${record.diagnosis.ruledOut.map((r) => r.id).join(", ")}).`,
    );
  }
  if (record.status === "recovered" && applied?.action === "kill-idle-connections") {
    wentWell.push(
      "Recovered in place by closing idle connections: no restart, so the leak stayed observable.",
    );
  } else if (record.status === "recovered") {
    wentWell.push("Recovery was verified by the health check, not assumed.");
  }
  return wentWell;
}

function wentWrongOf(record: IncidentRecord): string[] {
  const wentWrong: string[] = [];
  const before = record.evidence.before;
  const noProcess = before ? dataOf(before.listener)?.listening === false : false;
  if (before && noProcess) {
    wentWrong.push(
      "No JVM evidence (open files, class histogram, threads, heap) could be collected: no process listened on the port.",
    );
  } else if (before) {
    for (const [name, sec] of Object.entries({
      "class histogram": before.classHistogram,
      "thread states": before.threads,
      "open files": before.fds,
      sockets: before.sockets,
      heap: before.heap,
    })) {
      if (sec.status === "unavailable")
        wentWrong.push(`The ${name} could not be collected at the start: ${shortReason(sec.reason)}.`);
    }
  }
  for (const s of record.steps.filter((x) => x.status === "failed" || x.status === "interrupted")) {
    wentWrong.push(`Step ${s.id} ${s.status}${s.error ? `: ${s.error.message}` : ""}.`);
  }
  for (const n of record.diagnosis?.notEvaluated ?? []) {
    wentWrong.push(`Hypothesis ${n.id} could be neither confirmed nor ruled out: ${shortReason(n.reason)}.`);
  }
  for (const e of record.diagnosis?.ruleErrors ?? []) {
    wentWrong.push(`Rule ${e.ruleId} threw while evaluating: ${e.message}.`);
  }
  if (!["recovered", "not-down", "planned"].includes(record.status)) {
    // The outcome said once: "Not recovered: the ladder reached escalate …", "Not mitigated: rung 1 … did not run: …".
    wentWrong.push(outcomeSentenceOf(record));
  }
  return wentWrong;
}

function luckyOf(record: IncidentRecord): string[] {
  const lucky: string[] = [];
  const before = record.evidence.before;
  const applied = firstApplied(record);
  // Only the after-relief snapshot counts: a histogram after a restart shows a fresh JVM, not the leak.
  const reliefHisto = record.evidence.afterRelief?.classHistogram.status === "ok";
  if (before?.classHistogram.status === "unavailable" && reliefHisto) {
    const ws = record.verification?.afterRelief?.wsSessions ?? keyFiguresOrNull(record.evidence.afterRelief);
    lucky.push(
      "The class histogram could still be taken after a small relief batch, before the leaked objects were released" +
        (ws != null ? ` (${formatCount(ws)} ${sessionsLabel(record)})` : "") +
        ": it confirmed the count the sockets suggested.",
    );
  }
  const restartRung = record.plan?.ladder.find((r) => r.action === "restart-service");
  if (record.status === "recovered" && applied && applied.action !== "restart-service" && restartRung) {
    lucky.push(
      `Rung ${applied.rung + 1}, ${applied.action}, was enough: the service recovered in place and the restart rung` +
        (restartRung.blockedReason ? ` (which could not have run: ${restartRung.blockedReason})` : "") +
        " was never needed.",
    );
  }
  return lucky;
}

function keyFiguresOrNull(e: Evidence | null): number | null {
  return e ? keyFigures(e).wsSessions : null;
}

// ---------------------------------------------------------------- missing

export function missingOf(record: IncidentRecord): Postmortem["missing"] {
  const missing: Postmortem["missing"] = [];
  // Plan mode, a cooldown or a declined rung stop the run on purpose: what they skip is not missing.
  const failedRun = !["recovered", "not-down", "planned", "cooldown", "declined"].includes(record.status);
  // Steps skipped because the run broke are missing; an escalated run skips verify by design.
  const brokenRun = ["failed", "interrupted", "running"].includes(record.status);
  for (const s of record.steps) {
    if (s.status === "failed" || s.status === "interrupted" || s.status === "running") {
      missing.push({
        what: `Step ${s.id}`,
        why: `${s.status}${s.error ? `: ${s.error.name}: ${s.error.message}` : s.note ? `: ${s.note}` : ""}`,
      });
    } else if (s.status === "skipped" && brokenRun) {
      missing.push({ what: `Step ${s.id}`, why: `skipped${s.note ? `: ${s.note}` : ""}` });
    }
  }
  const collect = stepOf(record, "collect");
  if (!record.evidence.before) {
    missing.push({
      what: "Evidence before mitigation",
      why:
        collect?.status === "interrupted"
          ? "the run was interrupted while collecting it"
          : (collect?.error?.message ?? "not collected"),
    });
  }
  for (const s of snapshotsOf(record)) {
    const e = s.evidence;
    if (!e) continue;
    const sections = {
      host: e.host,
      process: e.process,
      listener: e.listener,
      "open files": e.fds,
      sockets: e.sockets,
      "socket summary": e.socketSummary,
      "file-nr": e.fileNr,
      "class histogram": e.classHistogram,
      threads: e.threads,
      heap: e.heap,
      logs: e.logs,
      "Tomcat version": e.tomcat,
    };
    for (const [name, sec] of Object.entries(sections)) {
      if (sec.status === "unavailable") missing.push({ what: `${name} (${s.label})`, why: sec.reason });
    }
    if (e.collector.timedOut.length > 0) {
      missing.push({
        what: `Time-boxed sections (${s.label})`,
        why: `cut short: ${e.collector.timedOut.join(", ")}`,
      });
    }
  }
  if (!record.diagnosis) {
    missing.push({
      what: "Diagnosis",
      why: `the run ended before diagnosing (${record.statusReason.replace(/\.$/, "")})`,
    });
  }
  if (!record.verification && failedRun) {
    missing.push({ what: "Verification", why: "recovery was never verified" });
  }
  for (const e of record.errors) {
    const already = record.steps.some((s) => s.id === e.step && s.error?.message === e.message);
    if (!already) missing.push({ what: `Error in ${e.step}`, why: `${e.name}: ${e.message}` });
  }
  return withoutRepeats(missing);
}

/** A reason that quotes an earlier one in full (a skipped attach quoting the failed one) refers to it instead. */
function withoutRepeats(missing: Postmortem["missing"]): Postmortem["missing"] {
  return missing.map((m, i) => {
    const earlier = missing.slice(0, i).find((x) => x.why.length > 40 && m.why.includes(x.why));
    return earlier ? { ...m, why: m.why.replace(earlier.why, `the error of ${earlier.what}, above`) } : m;
  });
}
