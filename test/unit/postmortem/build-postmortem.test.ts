import { describe, expect, it } from "vitest";
import type { IncidentRecord } from "../../../lambdas/core/incident/schema.js";
import { deriveSeverity, milestonesOf } from "../../../lambdas/core/postmortem/build-postmortem.js";
import { classKnowledge } from "../../../lambdas/core/postmortem/knowledge.js";
import { postmortemSchema, TO_BE_FILLED } from "../../../lambdas/core/postmortem/schema.js";
import { dataOf } from "../../../lambdas/core/shared/section.js";
import { loadRunbookDoc } from "../../../lambdas/workflows/runbook-files.js";
import {
  failedCollectionRecord,
  heapExhaustionRecord,
  loadBalancerPathRecord,
  processDownRecord,
  websocketSessionLeakRecord,
} from "../../support/record-factory.js";
import { fixtureNames, KNOWLEDGE, loadFixture, model } from "./helpers.js";

/** The recorded run with its tomcat version replaced (the knownFixes table and the upgrade item read it). */
function withTomcat(record: IncidentRecord, version: string): IncidentRecord {
  const r = structuredClone(record);
  if (r.evidence.before) r.evidence.before.tomcat = { status: "ok", data: { version, source: "jar" } };
  return r;
}

describe("buildPostmortem", () => {
  it("builds a valid model from every fixture", () => {
    const names = fixtureNames();
    expect(names.length).toBeGreaterThanOrEqual(16);
    for (const name of names)
      expect(postmortemSchema.safeParse(model(loadFixture(name))).success, name).toBe(true);
  });

  it("keeps the milestones in order on every fixture: start <= diagnosed <= mitigated <= recovered", () => {
    for (const name of fixtureNames()) {
      const m = model(loadFixture(name));
      const known = m.keyTimes.filter((k) => k.at !== null);
      const at = known.map((k) => Date.parse(k.at ?? ""));
      expect(at, `${name}: ${known.map((k) => `${k.id} ${k.at}`).join(", ")}`).toEqual(
        [...at].sort((a, b) => a - b),
      );
      expect(m.keyTimes.find((k) => k.id === "start")?.at).toBe(m.impact.start);
      expect(m.keyTimes.find((k) => k.id === "recovery")?.at ?? null).toBe(m.impact.end);
      expect(m.impact.end === null, name).toBe(!m.status.recovered);
    }
  });

  it("defines mitigation as the first applied action that changed the host, recovery as its passing health check", () => {
    const r = loadFixture("recorded/file-leak-restarted");
    const restart = r.actions.find((a) => a.action === "restart-service");
    const apply = r.steps.find((s) => s.id === "apply");
    expect(restart?.healthyAfter).toBe(true);
    const m = milestonesOf(r);
    // Recorded before `firstChangeAt` existed: the end of the restart is only an upper bound.
    expect(restart?.firstChangeAt).toBeUndefined();
    expect(m.mitigatedAt).toBe(restart?.endedAt);
    expect(m.mitigationStart?.known).toBe(false);
    // The healthyAfter check is the last thing `apply` does: recovery is verified when apply ends.
    expect(m.recoveredAt).toBe(apply?.endedAt);
    for (const name of ["recorded/slow-escalated", "recorded/healthy-not-down", "recorded/process-down"]) {
      expect(milestonesOf(loadFixture(name)).mitigatedAt, name).toBeNull();
    }
  });

  it("says each run's outcome once in the summary and the resolution, for every fixture", () => {
    // "the ladder reached escalate" names the rung; "Escalated to a person" is the outcome.
    const stems = [
      /declin/gi,
      /(?<!reached )escalat/gi,
      /interrupt/gi,
      /cooldown/gi,
      /\bnot (?:mitigated|recovered|resolved)\b/gi,
      /plan mode|mode plan/gi,
    ];
    for (const name of fixtureNames()) {
      const m = model(loadFixture(name));
      expect(m.summary, name).not.toContain(`${m.status.label}:`);
      for (const text of [m.summary, m.resolution])
        for (const stem of stems)
          expect(text.match(stem)?.length ?? 0, `${name}: ${stem} in: ${text}`).toBeLessThanOrEqual(1);
    }
    // The recorded declined run: its status reason doubled ("Mitigation declined (… was declined: …)").
    const declined = model(loadFixture("recorded/ws-leak-declined"));
    expect(declined.summary).toMatch(
      /Not mitigated: rung 1 \(kill-idle-connections\) did not run: no terminal to ask, so nobody approved it\.$/,
    );
  });

  it("times the mitigation from the first change on the host, not the end of the action", () => {
    const r = structuredClone(loadFixture("recorded/file-leak-restarted"));
    const restart = r.actions.find((a) => a.action === "restart-service");
    if (!restart) throw new Error("fixture without restart-service");
    // The restart's stop was sent 5 ms after the rung began; the rung ended 10 s later, once healthy.
    restart.firstChangeAt = new Date(Date.parse(restart.startedAt) + 5).toISOString();
    const m = model(r);
    expect(milestonesOf(r).mitigatedAt).toBe(restart.firstChangeAt);
    expect(m.mitigationStart).toEqual({
      known: true,
      basis: "when restart-service was sent to the host (its first change).",
    });
    expect(m.keyTimes.find((k) => k.id === "mitigation")?.label).toBe(
      "Mitigation began (first change on the host)",
    );
    expect(m.timeToMitigateMs).toBe(Date.parse(restart.firstChangeAt) - Date.parse(m.impact.start));
    expect(m.timeToMitigateMs).toBeLessThan((m.timeToRecoverMs ?? 0) - 10_000);
    const row = m.timeline.find((e) => e.title.startsWith("First change on the host"));
    expect(row).toMatchObject({
      at: restart.firstChangeAt,
      status: "sent",
      title: "First change on the host: restart-service",
    });
  });

  it("without firstChangeAt, a relief batch bounds the first change by the collection that followed it", () => {
    const r = loadFixture("recorded/ws-leak-recovered");
    const kill = r.actions.find((a) => a.action === "kill-idle-connections");
    const again = r.steps.find((s) => s.id === "collect-after-relief");
    const m = model(r);
    expect(milestonesOf(r).mitigatedAt).toBe(again?.startedAt);
    expect(Date.parse(again?.startedAt ?? "")).toBeLessThan(Date.parse(kill?.endedAt ?? ""));
    expect(m.keyTimes.find((k) => k.id === "mitigation")?.label).toBe("Mitigation began (no later than)");
    expect(m.mitigationStart?.basis).toMatch(
      /^no later than the collection after the relief batch of kill-idle-connections/,
    );
    expect(m.timeline.find((e) => e.title.startsWith("First change on the host"))?.status).toBe(
      "no later than",
    );
  });

  it.each([
    ["websocket-session-leak", websocketSessionLeakRecord, "SEV2", "api-unreachable"],
    ["process-down", processDownRecord, "SEV2", "process-down"],
    ["failed-collection", failedCollectionRecord, "SEV2", "no-evidence-alarm"],
    ["load-balancer-path", loadBalancerPathRecord, "SEV3", "load-balancer-path"],
  ] as const)("derives severity for %s", (_name, build, level, ruleId) => {
    const s = deriveSeverity(build());
    expect(s.level).toBe(level);
    expect(s.ruleId).toBe(ruleId);
  });

  it("is pure: the same record gives the same model", () => {
    const r = websocketSessionLeakRecord();
    expect(model(r)).toEqual(model(structuredClone(r)));
  });
});

describe("impact", () => {
  it("starts at the first failure in the log when the log shows failures before the run", () => {
    const r = loadFixture("recorded/ws-leak-recovered");
    const first = dataOf(r.evidence.before?.logs ?? { status: "unavailable", reason: "" })?.firstFailure;
    expect(first?.at).toBeTruthy();
    expect(Date.parse(first?.at ?? "")).toBeLessThan(Date.parse(r.trigger.at));
    const m = model(r);
    expect(m.impact.start).toBe(first?.at);
    expect(m.impact.startKnown).toBe(true);
    expect(m.impact.startBasis).toContain("first failure in the application log");
    expect(m.impact.durationMs).toBe(Date.parse(m.impact.end ?? "") - Date.parse(first?.at ?? ""));
    expect(m.timeToRecoverMs).toBeGreaterThan(Date.parse(m.impact.end ?? "") - Date.parse(r.trigger.at));
  });

  it("ignores a failure logged before the process started (a previous incident) and says the start is only a bound", () => {
    const r = structuredClone(loadFixture("recorded/ws-leak-recovered"));
    const logs = r.evidence.before ? dataOf(r.evidence.before.logs) : undefined;
    if (!logs?.firstFailure) throw new Error("fixture without logs.firstFailure");
    logs.firstFailure.at = "2026-01-01T00:00:00.000Z";
    const m = model(r);
    expect(m.impact.start).toBe(r.evidence.before?.collectedAt);
    expect(m.impact.startKnown).toBe(false);
    expect(m.impact.durationText).toMatch(/^at least /);
    expect(m.impact.startBasis).toContain("no failure evidence earlier than it");
  });

  it("starts an alarm-triggered run at the alarm when nothing earlier is known", () => {
    const m = model(websocketSessionLeakRecord());
    expect(m.impact.start).toBe("2025-03-11T02:14:00.000Z");
    expect(m.impact.startKnown).toBe(false);
    expect(m.impact.durationText).toBe("at least 1 min 24 s");
  });

  it("states the scope, the mitigation's own impact and the fields for humans", () => {
    const m = model(loadFixture("recorded/ws-leak-recovered"));
    expect(m.impact.scope.join("\n")).toMatch(/Connector: port 18240/);
    expect(m.impact.scope.join("\n")).toMatch(/waited in the accept queue/);
    expect(m.impact.mitigationImpact).toContain("closed 1,009 idle connections");
    expect(m.impact.humanFields.map((f) => f.label)).toEqual([
      "Users affected",
      "Support tickets",
      "Revenue or SLA impact",
    ]);
    expect(m.impact.humanFields.every((f) => f.value === TO_BE_FILLED)).toBe(true);
    expect(m.metadata).toEqual({
      status: "Draft",
      authors: TO_BE_FILLED,
      reviewers: TO_BE_FILLED,
      reviewMeeting: TO_BE_FILLED,
    });
  });
});

describe("root cause", () => {
  it("leads with the proof and the final confidence, noting the first, with one caveat for the unavailable evidence", () => {
    const m = model(loadFixture("recorded/ws-leak-recovered"));
    const rc = m.rootCause;
    expect(rc?.confidencePercent).toBe(95);
    expect(rc?.confidenceNote).toContain("First diagnosed at 70%");
    expect(rc?.proof).toMatch(
      /^977 WsSession objects \(after the relief batch\) for 977 ESTABLISHED connections/,
    );
    expect(rc?.evidence.length).toBeGreaterThan(3);
    for (const l of rc?.evidence ?? []) {
      expect(l.text).not.toContain("unavailable");
      expect(l.link).toBe("evidence/evidence-before.json");
    }
    expect(rc?.caveat).toContain("AttachNotSupportedException");
    expect(rc?.caveat).not.toContain("com.sun.tools");
  });

  it("titles the postmortem with what the evidence shows, not with vanished clients", () => {
    for (const name of fixtureNames()) expect(model(loadFixture(name)).title, name).not.toMatch(/vanish/i);
    expect(model(loadFixture("recorded/ws-leak-recovered")).title).toBe(
      "Idle WebSocket connections held open until the open-files limit (local)",
    );
  });

  it("derives contributing factors from the evidence: the 1,024 soft limit, no idle timeout, no alarm", () => {
    const ids = model(loadFixture("recorded/ws-leak-recovered")).contributing.map((c) => c.id);
    expect(ids).toEqual(expect.arrayContaining(["low-fd-limit", "no-idle-timeout", "no-alarm"]));
  });

  it("says how far 'ruled out' goes and shows the known Tomcat fixes against the version", () => {
    const m = model(loadFixture("recorded/ws-leak-recovered"));
    const fw = m.ruledOut.find((r) => r.id === "framework-version");
    expect(fw?.scope).toContain("Only the fix it names was checked");
    expect(m.knownFixes?.rows.map((r) => [r.id, r.status])).toEqual([
      ["Bugzilla 64848", "included (a later line)"],
      ["CVE-2024-23672", "included"],
    ]);
    const old = model(withTomcat(loadFixture("recorded/ws-leak-recovered"), "8.5.60"));
    expect(old.knownFixes?.rows.map((r) => r.status)).toEqual(["included", "missing: upgrade"]);
    const eol = model(withTomcat(loadFixture("recorded/ws-leak-recovered"), "7.0.109"));
    expect(eol.knownFixes?.rows.map((r) => r.status)).toEqual([
      "missing: no fixed release of this line on record",
      "missing: no fixed release of this line on record",
    ]);
    expect(m.wontHelp.map((w) => w.what).join(" ")).toContain("tcp_keepalive_time");
  });
});

describe("action items", () => {
  it("chooses them from the evidence: one 'do first', each with a done-when check and placeholders, no no-op upgrade", () => {
    const m = model(loadFixture("recorded/ws-leak-recovered"));
    const all = [...m.actionItems, ...m.moreActionItems];
    expect(m.actionItems.map((a) => a.id)).toEqual([
      "idle-timeout-in-front",
      "close-native-session",
      "alarm-on-connections",
    ]);
    expect(all.filter((a) => a.doFirst).map((a) => a.id)).toEqual(["idle-timeout-in-front"]);
    for (const a of all) {
      expect(a.doneWhen.command.length, a.id).toBeGreaterThan(5);
      expect(a.doneWhen.expect.length, a.id).toBeGreaterThan(5);
      expect([a.due, a.ticket, a.owner], a.id).toEqual([TO_BE_FILLED, TO_BE_FILLED, TO_BE_FILLED]);
    }
    // Tomcat 10.1.x has every known fix: advising an upgrade would be a no-op.
    expect(all.map((a) => a.id)).not.toContain("upgrade-tomcat");
    expect(
      model(withTomcat(loadFixture("recorded/ws-leak-recovered"), "9.0.37")).moreActionItems.map((a) => a.id),
    ).toContain("upgrade-tomcat");
  });

  it("gives the human the class's diagnostics: a heap dump, each WsSession's state, closing the native session", () => {
    const m = model(loadFixture("recorded/ws-leak-recovered"));
    expect(m.diagnostics.map((d) => d.snippet?.code ?? "").join("\n")).toMatch(
      /GC\.heap_dump[\s\S]*WsSession s/,
    );
    const close = m.actionItems.find((a) => a.id === "close-native-session");
    expect(close?.snippet?.code).toContain("getNativeSession()");
    expect(close?.snippet?.code).toContain("ws.onClose(");
    expect(m.openQuestions.join("\n")).toContain("127.0.0.1");
  });

  it("fills every placeholder in every fixture", () => {
    for (const name of fixtureNames()) {
      const m = model(loadFixture(name));
      const texts = [
        ...[...m.actionItems, ...m.moreActionItems].flatMap((a) => [
          a.title,
          a.text,
          a.doneWhen.command,
          a.doneWhen.expect,
        ]),
        ...m.openQuestions,
        ...m.contributing.map((c) => c.text),
        m.rootCause?.proof ?? "",
      ];
      for (const t of texts) expect(t, name).not.toMatch(/\{[a-zA-Z.]+\}/);
    }
  });

  it("offers raising LimitNOFILE to 65536 only below that limit: a no-op at a high limit", () => {
    const ids = (r: IncidentRecord) => {
      const m = model(r);
      return [...m.actionItems, ...m.moreActionItems].map((a) => a.id);
    };
    const low = loadFixture("file-handle-leak");
    expect(dataOf(low.evidence.before?.fds)?.limitSoft).toBe(4096);
    expect(ids(low)).toContain("raise-limitnofile-stopgap");
    const before = low.evidence.before;
    const fds = dataOf(before?.fds);
    if (!before || !fds) throw new Error("the fixture has no fds section");
    const high = (limitSoft: number): IncidentRecord => ({
      ...low,
      evidence: {
        ...low.evidence,
        before: { ...before, fds: { status: "ok", data: { ...fds, limitSoft, limitHard: 1_048_576 } } },
      },
    });
    expect(ids(high(65_536))).not.toContain("raise-limitnofile-stopgap");
    expect(ids(high(1_048_576))).not.toContain("raise-limitnofile-stopgap");
    expect(ids(high(65_535))).toContain("raise-limitnofile-stopgap");
    // The rest of the class's items stay.
    expect(ids(high(65_536))).toContain("try-with-resources");
  });

  it("offers the idle-timeout items only when idle connections piled up; 'do first' is the first item that passes", () => {
    const r = loadFixture("recorded/ws-leak-recovered");
    const gated = ["idle-timeout-in-front", "websocket-idle-timeout", "server-pings"];
    const piled = model(r);
    const offered = [...piled.actionItems, ...piled.moreActionItems];
    expect(piled.actionItems[0]).toMatchObject({ id: "idle-timeout-in-front", doFirst: true });
    expect(offered.find((a) => a.id === "idle-timeout-in-front")?.because).toBe(
      "1,009 ESTABLISHED connections were idle longer than 2 s: nothing on the path closed them",
    );
    // The same run where the connections were busy, not idle: a timeout would close nothing.
    const busy = structuredClone(r);
    const sockets = dataOf(busy.evidence.before?.sockets);
    if (!sockets) throw new Error("the fixture has no sockets section");
    sockets.idle.overThreshold = 3;
    const m = model(busy);
    const ids = [...m.actionItems, ...m.moreActionItems].map((a) => a.id);
    for (const id of gated) expect(ids, id).not.toContain(id);
    expect(m.actionItems[0]).toMatchObject({ id: "close-native-session", doFirst: true });
    expect(m.actionItems.filter((a) => a.doFirst)).toHaveLength(1);
    expect(m.leftOutActionItems.map((l) => l.id)).toEqual(expect.arrayContaining(gated));
    expect(m.leftOutActionItems.find((l) => l.id === "idle-timeout-in-front")?.why).toBe(
      "idle connections did not pile up (3 idle longer than 2 s): a timeout would close nothing",
    );
    // Without the sockets section the evidence cannot decide: these items say so and stay (`ifUnknown: include`).
    const blind = structuredClone(r);
    if (blind.evidence.before)
      blind.evidence.before.sockets = { status: "unavailable", reason: "ss missing" };
    const kept = [...model(blind).actionItems, ...model(blind).moreActionItems];
    expect(kept.find((a) => a.id === "idle-timeout-in-front")?.because).toMatch(
      /^the evidence could not decide \(.*\), so it is kept$/,
    );
  });

  it("leaves the process-down follow-ups of other exit reasons out, and says why in the appendix", () => {
    const m = model(loadFixture("process-down"));
    const ids = [...m.actionItems, ...m.moreActionItems].map((a) => a.id);
    expect(ids).toContain("why-it-died");
    for (const id of ["fit-jvm-memory", "read-crash-file", "find-who-stopped-it"]) {
      expect(ids, id).not.toContain(id);
      expect(m.leftOutActionItems.find((l) => l.id === id)?.why, id).toMatch(
        /^the evidence could not decide/,
      );
    }
  });

  it("owner comes from the options", () => {
    expect(
      model(websocketSessionLeakRecord(), "@api-team").actionItems.every((a) => a.owner === "@api-team"),
    ).toBe(true);
  });

  it("has class knowledge with action items for every class of the shipped runbook, and falls back to unknown", async () => {
    const rb = await loadRunbookDoc("api-unreachable");
    for (const id of [...rb.classes.map((c) => c.id), rb.rootCause.fallback.id])
      expect(KNOWLEDGE.classes[id]?.actionItems.length, id).toBeGreaterThan(0);
    expect(classKnowledge(KNOWLEDGE, "no-such-class")).toBe(KNOWLEDGE.classes.unknown);
    expect(model(failedCollectionRecord()).actionItems.map((a) => a.id)).toEqual([
      "fix-collection",
      "diagnose-by-hand",
      "fix-step-collect",
    ]);
  });
});

describe("session class names", () => {
  const TOMCAT = "org.apache.tomcat.websocket.WsSession";
  const JETTY = "org.eclipse.jetty.websocket.common.WebSocketSession";
  /** The recorded ws-leak run with its histograms' session class renamed (as on Jetty), or dropped. */
  const withSessionClass = (to: string | null): IncidentRecord => {
    const r = loadFixture("recorded/ws-leak-recovered");
    const rename = (e: IncidentRecord["evidence"]["after"]) => {
      const h = e ? dataOf(e.classHistogram) : undefined;
      if (!e || !h) return e;
      const rows = <T extends { className: string }>(xs: readonly T[]): T[] =>
        xs.flatMap((x) => (x.className !== TOMCAT ? [x] : to === null ? [] : [{ ...x, className: to }]));
      const data = {
        ...h,
        top: rows(h.top),
        watched: rows(h.watched),
        sessionClasses: to === null ? [] : [to],
      };
      return { ...e, classHistogram: { status: "ok" as const, data } };
    };
    const ev = r.evidence;
    return {
      ...r,
      evidence: { before: rename(ev.before), afterRelief: rename(ev.afterRelief), after: rename(ev.after) },
    };
  };
  const sessionRow = (r: IncidentRecord) =>
    model(r).verification?.figures.find((f) => /session/i.test(f.label))?.label;

  it("labels the sessions row and the lucky line by the counted class: Tomcat's WsSession, Jetty's WebSocketSession", () => {
    expect(sessionRow(loadFixture("recorded/ws-leak-recovered"))).toBe("WsSession instances");
    const jetty = model(withSessionClass(JETTY));
    expect(sessionRow(withSessionClass(JETTY))).toBe("WebSocketSession instances");
    expect(jetty.lessons.lucky.join(" ")).toContain("(977 WebSocketSession instances)");
    expect(JSON.stringify(jetty.verification)).not.toContain("WsSession");
  });

  it('says "WebSocket sessions" where no class was counted', () => {
    // The class is diagnosed from sockets only; the row stays for the WebSocket leak, with a neutral label.
    expect(sessionRow(withSessionClass(null))).toBe("WebSocket sessions");
  });
});

describe("timeline and charts", () => {
  it("adds the events before the run, lists no row twice, and shows milliseconds where two rows share a second", () => {
    const r = loadFixture("recorded/ws-leak-recovered");
    const m = model(r);
    const before = m.timeline.filter((e) => e.kind === "before");
    expect(before.map((e) => e.title)).toEqual([
      expect.stringMatching(/^Process \d+ started$/),
      "Open-files limit reached: first `Too many open files` in the log",
    ]);
    expect(before.every((e) => Date.parse(e.at) < Date.parse(r.trigger.at))).toBe(true);
    const keys = m.timeline.map((e) => `${e.at} ${e.title}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(m.timeline.some((e) => e.title === "Apply mitigation")).toBe(false);
    const shared = m.timeline.filter((e) => /\.\d{3}$/.test(e.timeText));
    expect(shared.length).toBeGreaterThan(1);
    expect(m.mermaid).toContain("axisFormat %H:%M:%S");
    expect(m.mermaid).toMatch(/section Impact\n {4}Users affected :crit, /);
  });

  /** The recorded ws-leak run with its log section's counts and samples replaced. */
  const withLog = (counts: Partial<Record<string, number>>, samples: string[]): IncidentRecord => {
    const r = loadFixture("recorded/ws-leak-recovered");
    const before = r.evidence.before;
    const logs = before ? dataOf(before.logs) : undefined;
    if (!before || !logs) throw new Error("the recorded run has no logs section");
    const data = { ...logs, tooManyOpenFiles: 0, outOfMemoryError: 0, ...counts, samples };
    return { ...r, evidence: { ...r.evidence, before: { ...before, logs: { status: "ok", data } } } };
  };
  const pool = "HikariPool-1 - Connection is not available, request timed out after 30000ms.";
  const enospc = "java.io.IOException: No space left on device";
  const firstFailure = (r: IncidentRecord) =>
    model(r).timeline.find((e) => e.kind === "before" && e.status === "log")?.title;

  it.each([
    [
      "a pool time-out only",
      { connectionNotAvailable: 40 },
      [pool],
      "First pool time-out in the log: `Connection is not available`",
    ],
    ["ENOSPC only", { noSpaceLeft: 7 }, [enospc], "Disk full: first `No space left on device` in the log"],
    [
      "OutOfMemoryError only",
      { outOfMemoryError: 2 },
      ["java.lang.OutOfMemoryError: Java heap space"],
      "First `OutOfMemoryError` in the log",
    ],
    // Every match is in the samples: the first sample is the first failure, whatever else was counted.
    [
      "ENOSPC, then fds",
      { noSpaceLeft: 1, tooManyOpenFiles: 2 },
      [enospc, "Too many open files", "Too many open files"],
      "Disk full: first `No space left on device` in the log",
    ],
    // More matches than samples and two kinds: the record does not say which came first.
    [
      "pool time-outs and fds, more than the samples",
      { connectionNotAvailable: 30, tooManyOpenFiles: 9 },
      [pool, pool, pool, pool, pool],
      "First failure in the log (`Too many open files` or `Connection is not available, request timed out`)",
    ],
  ])("labels the log's first failure by its kind: %s", (_what, counts, samples, title) => {
    const r = withLog(counts, samples);
    expect(firstFailure(r)).toBe(title);
  });

  it("labels the log's first failure by the kind the probe named, even with more matches than samples", () => {
    const r = withLog({ connectionNotAvailable: 30, tooManyOpenFiles: 9 }, [pool, pool, pool, pool, pool]);
    const logs = dataOf(r.evidence.before?.logs ?? { status: "unavailable", reason: "" });
    if (!logs?.firstFailure) throw new Error("fixture without logs.firstFailure");
    logs.firstFailure = { ...logs.firstFailure, kind: "connectionNotAvailable" };
    expect(firstFailure(r)).toBe("First pool time-out in the log: `Connection is not available`");
    logs.firstFailure = { ...logs.firstFailure, kind: "tooManyOpenFiles" };
    expect(firstFailure(r)).toBe("Open-files limit reached: first `Too many open files` in the log");
  });

  it("names the log's failure kind in the impact's basis, and says an unknown start without \"from at or before\"", () => {
    const m = model(withLog({ connectionNotAvailable: 40 }, [pool]));
    expect(m.impact.startBasis).toBe(
      "the first failure in the application log (`Connection is not available, request timed out`)",
    );
    for (const name of fixtureNames())
      expect(model(loadFixture(name)).impact.windowText, name).not.toMatch(/from at or/);
    expect(model(loadFixture("websocket-session-leak")).impact.windowText).toBe(
      "began at or before 2025-03-11 02:14:00 UTC, ended 2025-03-11 02:15:24 UTC (at least 1 min 24 s)",
    );
    expect(model(loadFixture("recorded/ws-leak-recovered")).impact.windowText).toBe(
      "from 2026-12-02 02:50:36 UTC to 2026-12-02 02:51:27 UTC (51 s)",
    );
  });

  it("keeps charts as data with a time on every row, and one chart of ESTABLISHED connections by idle age", () => {
    const m = model(loadFixture("recorded/ws-leak-recovered"));
    for (const c of [m.charts.fdUsage, m.charts.connectionStates, m.charts.idleAge]) {
      expect(c?.rows.length).toBe(3);
      for (const row of c?.rows ?? []) expect(row.at).toMatch(/^\d{4}-\d\d-\d\dT/);
    }
    expect(m.charts.idleAge?.rows[0]?.buckets.reduce((a, b) => a + b.count, 0)).toBe(1010);
  });

  it("shows kill-idle-connections as changing the host, as the action registry says, in every fixture", () => {
    for (const name of fixtureNames()) {
      for (const s of model(loadFixture(name)).mitigation.steps.filter(
        (x) => x.action !== "escalate" && x.action !== "notify-only",
      ))
        expect(s.destructive, `${name} rung ${s.rung} ${s.action}`).toBe(true);
    }
  });

  it("leaves recovery times empty when the run did not recover", () => {
    const m = model(failedCollectionRecord());
    expect(m.impact.end).toBeNull();
    expect(m.timeToRecoverMs).toBeNull();
    expect(model(heapExhaustionRecord()).timeToRecoverMs).toBeNull();
  });
});
