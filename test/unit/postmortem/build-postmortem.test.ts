import { describe, expect, it } from "vitest";
import { FAILURE_CLASS_IDS } from "../../../lambdas/core/diagnosis/schema.js";
import {
  buildPostmortem,
  deriveSeverity,
  milestonesOf,
} from "../../../lambdas/core/postmortem/build-postmortem.js";
import { FOLLOW_UP_CATALOGUE, tomcatUpgradeAdvice } from "../../../lambdas/core/postmortem/follow-ups.js";
import { postmortemSchema } from "../../../lambdas/core/postmortem/schema.js";
import {
  failedCollectionRecord,
  heapExhaustionRecord,
  loadBalancerPathRecord,
  processDownRecord,
  websocketSessionLeakRecord,
} from "../../support/record-factory.js";
import { fixtureNames, GENERATED_AT, loadFixture } from "./helpers.js";

describe("buildPostmortem", () => {
  it("builds a valid model from every fixture", () => {
    for (const name of fixtureNames()) {
      const model = buildPostmortem(loadFixture(name), { generatedAt: GENERATED_AT });
      expect(postmortemSchema.safeParse(model).success, name).toBe(true);
    }
  });

  it("computes the impact window and time to diagnose, mitigate and recover from the record", () => {
    const m = buildPostmortem(websocketSessionLeakRecord());
    expect(m.impact.start).toBe("2025-03-11T02:14:00.000Z"); // alarm
    // rung 0's healthyAfter check passed; it closes the apply step (02:15:24)
    expect(m.impact.end).toBe("2025-03-11T02:15:24.000Z");
    expect(m.timeToDiagnoseMs).toBe(48_000); // diagnose ended 02:14:48
    expect(m.timeToMitigateMs).toBe(80_000); // rung 0 ended 02:15:20
    expect(m.timeToRecoverMs).toBe(84_000);
    expect(m.impact.durationMs).toBe(84_000);
    expect(m.keyTimes.map((k) => [k.id, k.sinceStartMs])).toEqual([
      ["start", 0],
      ["diagnosis", 48_000],
      ["mitigation", 80_000],
      ["recovery", 84_000],
    ]);
  });

  it("keeps the milestones in order on every fixture: start <= diagnosed <= mitigated <= recovered", () => {
    for (const name of fixtureNames()) {
      const m = buildPostmortem(loadFixture(name), { generatedAt: GENERATED_AT });
      const known = m.keyTimes.filter((k) => k.at !== null);
      const at = known.map((k) => Date.parse(k.at ?? ""));
      expect(at, `${name}: ${known.map((k) => `${k.id} ${k.at}`).join(", ")}`).toEqual(
        [...at].sort((a, b) => a - b),
      );
      const since = known.map((k) => k.sinceStartMs ?? -1);
      expect(since, name).toEqual([...since].sort((a, b) => a - b));
      expect(m.keyTimes.find((k) => k.id === "start")?.at).toBe(m.impact.start);
      expect(m.keyTimes.find((k) => k.id === "recovery")?.at ?? null).toBe(m.impact.end);
      if (m.status.recovered) expect(m.impact.end, name).not.toBeNull();
    }
  });

  it("defines mitigation as the first applied action that changed the host, and recovery from the verify step when no healthyAfter check passed", () => {
    const r = loadFixture("recorded/file-leak-restarted");
    const restart = r.actions.find((a) => a.action === "restart-service");
    const verify = r.steps.find((s) => s.id === "verify");
    const m = milestonesOf(r);
    expect(m.mitigatedAt).toBe(restart?.endedAt);
    if (restart?.healthyAfter !== true) expect(m.recoveredAt).toBe(verify?.endedAt);
    // A notify-only or escalate action is not a mitigation.
    for (const name of ["recorded/slow-escalated", "recorded/healthy-not-down", "recorded/process-down"]) {
      expect(milestonesOf(loadFixture(name)).mitigatedAt, name).toBeNull();
    }
    // Probe timestamps have whole seconds: recovery is never before the mitigation that caused it.
    const ws = loadFixture("recorded/ws-leak-recovered");
    const wm = milestonesOf(ws);
    expect(Date.parse(wm.recoveredAt ?? "")).toBeGreaterThanOrEqual(Date.parse(wm.mitigatedAt ?? ""));
  });

  it("leaves recovery times empty when the run did not recover", () => {
    const m = buildPostmortem(failedCollectionRecord());
    expect(m.impact.end).toBeNull();
    expect(m.timeToDiagnoseMs).toBeNull();
    expect(m.timeToRecoverMs).toBeNull();
    expect(buildPostmortem(heapExhaustionRecord()).timeToRecoverMs).toBeNull();
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

  it("rates a healthy host checked by hand as SEV4", () => {
    const r = loadBalancerPathRecord();
    const manual = {
      ...r,
      diagnosis: r.diagnosis && {
        ...r.diagnosis,
        rootCause: { ...r.diagnosis.rootCause, id: "unknown" as const },
      },
      trigger: {
        kind: "manual" as const,
        at: r.trigger.at,
        alarmName: null,
        alarmReason: null,
        source: "jdoe",
      },
    };
    expect(deriveSeverity(manual).level).toBe("SEV4");
  });

  it("picks the WebSocket follow-ups with concrete text, the nginx snippet and version-specific upgrade advice", () => {
    const m = buildPostmortem(websocketSessionLeakRecord(), { owner: "@api-team" });
    const ids = m.followUps.map((f) => f.id);
    expect([...ids].sort()).toEqual(
      FOLLOW_UP_CATALOGUE["websocket-session-leak"].followUps.map((f) => f.id).sort(),
    );
    expect(m.followUps.map((f) => f.priority)).toEqual([...m.followUps.map((f) => f.priority)].sort());
    const byId = Object.fromEntries(m.followUps.map((f) => [f.id, f]));
    expect(byId["websocket-idle-timeout"]?.text).toContain("maxIdleTimeout");
    expect(byId["websocket-idle-timeout"]?.snippet?.code).toContain("setMaxSessionIdleTimeout");
    const nginx = byId["idle-timeout-in-front"]?.snippet;
    expect(nginx?.language).toBe("nginx");
    expect(nginx?.code).toContain("proxy_read_timeout 300s");
    expect(nginx?.code).toContain("proxy_set_header Upgrade $http_upgrade");
    expect(nginx?.code).toContain('proxy_set_header Connection "upgrade"');
    expect(byId["idle-timeout-in-front"]?.text).toContain("default 60 s");
    expect(byId["upgrade-tomcat-64848"]?.text).toContain(
      "Tomcat 9.0.37, which predates the fix: upgrade to 9.0.40",
    );
    expect(byId["raise-limitnofile-stopgap"]?.text).toContain("1,024");
    expect(m.followUps.every((f) => f.owner === "@api-team")).toBe(true);
  });

  it("fills every placeholder for every class", () => {
    for (const name of fixtureNames()) {
      for (const f of buildPostmortem(loadFixture(name)).followUps) {
        expect(`${f.title} ${f.text}`, `${name}/${f.id}`).not.toMatch(/\{[a-zA-Z]+\}/);
      }
    }
  });

  it("has a catalogue entry with follow-ups for every failure class", () => {
    for (const id of FAILURE_CLASS_IDS) expect(FOLLOW_UP_CATALOGUE[id].followUps.length).toBeGreaterThan(0);
  });

  it("names the most-held files in the file-handle-leak follow-ups", () => {
    const m = buildPostmortem(loadFixture("file-handle-leak"));
    expect(m.followUps.find((f) => f.id === "try-with-resources")?.text).toContain(
      "/opt/app/templates/invoice-template.xlsx",
    );
  });

  it("gives Tomcat upgrade advice per branch", () => {
    expect(tomcatUpgradeAdvice("8.5.59")).toContain("upgrade to 8.5.60");
    expect(tomcatUpgradeAdvice("8.5.60")).toContain("no upgrade needed");
    expect(tomcatUpgradeAdvice("9.0.40")).toContain("no upgrade needed");
    expect(tomcatUpgradeAdvice("10.0.0-M9")).toContain("upgrade to 10.0.0-M10");
    expect(tomcatUpgradeAdvice("10.0.0-M10")).toContain("no upgrade needed");
    expect(tomcatUpgradeAdvice("10.1.34")).toContain("no upgrade needed");
    expect(tomcatUpgradeAdvice(null)).toContain("does not say");
  });

  it("keeps every step and action in the timeline, plus the alarm and the recovery", () => {
    const r = websocketSessionLeakRecord();
    const m = buildPostmortem(r);
    expect(m.timeline.filter((e) => e.kind === "step")).toHaveLength(r.steps.length);
    expect(m.timeline.filter((e) => e.kind === "action")).toHaveLength(r.actions.length);
    expect(m.timeline[0]?.kind).toBe("alarm");
    expect(m.timeline.some((e) => e.kind === "recovery")).toBe(true);
    const times = m.timeline.map((e) => Date.parse(e.at));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it("highlights WsSession and UpgradeProcessorInternal and says the histogram was unavailable before", () => {
    const classes = buildPostmortem(websocketSessionLeakRecord()).evidenceTables.find(
      (t) => t.id === "classes",
    );
    const highlighted = classes?.rows.filter((r) => r.highlight).map((r) => r.cells[1]);
    expect(highlighted).toEqual([
      "org.apache.tomcat.websocket.WsSession",
      "org.apache.coyote.http11.upgrade.UpgradeProcessorInternal",
    ]);
    expect(classes?.note).toContain("Not available earlier: before: jcmd 4242 GC.class_histogram failed");
  });

  it("says what is missing when the run failed mid-way", () => {
    const m = buildPostmortem(failedCollectionRecord());
    const what = m.missing.map((x) => x.what);
    expect(what).toEqual(
      expect.arrayContaining(["Step collect", "Evidence before mitigation", "Diagnosis", "Verification"]),
    );
    expect(m.missing.find((x) => x.what === "Step collect")?.why).toContain("Undeliverable");
    expect(m.rootCause).toBeNull();
    expect(m.charts.fdUsage).toBeNull();
    expect(m.followUps.map((f) => f.id)).toEqual(["fix-collection", "diagnose-by-hand", "fix-step-collect"]);
  });

  it("is pure: the same record gives the same model", () => {
    const r = websocketSessionLeakRecord();
    expect(buildPostmortem(r)).toEqual(buildPostmortem(structuredClone(r)));
  });
});
