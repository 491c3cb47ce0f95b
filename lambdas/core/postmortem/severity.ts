import type { IncidentRecord } from "../incident/schema.js";
import { dataOf } from "../shared/section.js";
import { formatCount } from "./format.js";
import type { Severity } from "./schema.js";

/**
 * Severity rules, first match wins. SEV1 is never derived: it is for humans to declare
 * (several services, data loss, security). See docs/postmortem.md.
 */
export const SEVERITY_RULES: readonly { id: string; level: Severity["level"]; rule: string }[] = [
  {
    id: "process-down",
    level: "SEV2",
    rule: "No process listened on the port: the API was down for every client.",
  },
  {
    id: "api-unreachable",
    level: "SEV2",
    rule: "The API failed its health check on the host: it was unreachable.",
  },
  {
    id: "no-evidence-alarm",
    level: "SEV2",
    rule: "No evidence was collected after an alarm: treated as SEV2 until someone confirms the impact.",
  },
  {
    id: "no-evidence",
    level: "SEV2",
    rule: "The run was started because the API looked unreachable and no evidence was collected: treated as SEV2 until someone confirms the impact.",
  },
  {
    id: "load-balancer-path",
    level: "SEV3",
    rule: "The service answered on the host; only the path through the load balancer failed.",
  },
  { id: "alarm-not-down", level: "SEV3", rule: "An alarm fired but the service answered on the host." },
  { id: "no-impact", level: "SEV4", rule: "Run by hand and the service answered: no user impact found." },
];

function ruleById(id: string): { id: string; level: Severity["level"]; rule: string } {
  const r = SEVERITY_RULES.find((x) => x.id === id);
  if (!r) throw new Error(`unknown severity rule ${id}`);
  return r;
}

export function deriveSeverity(record: IncidentRecord): Severity {
  const before = record.evidence.before;
  const rootId = record.diagnosis?.rootCause.id ?? null;
  const pick = (id: string, detail: string): Severity => {
    const r = ruleById(id);
    return {
      level: r.level,
      ruleId: r.id,
      reason: detail ? `${r.rule.replace(/\.$/, "")} (${detail}).` : r.rule,
    };
  };
  const listener = before ? dataOf(before.listener) : undefined;
  if (rootId === "process-down" || (listener !== undefined && !listener.listening)) {
    return pick("process-down", before ? `health check: ${before.health.outcome}` : "");
  }
  if (before && before.health.outcome !== "ok") {
    return pick(
      "api-unreachable",
      `health check: ${before.health.outcome} after ${formatCount(before.health.latencyMs)} ms`,
    );
  }
  if (!before) {
    return record.trigger.kind === "alarm" ? pick("no-evidence-alarm", "") : pick("no-evidence", "");
  }
  if (rootId === "load-balancer-path") return pick("load-balancer-path", "");
  if (record.trigger.kind === "alarm") return pick("alarm-not-down", "");
  return pick("no-impact", "");
}
