import type { Evidence } from "../evidence/schema.js";
import { webSocketSessions } from "../evidence/sessions.js";
import { dataOf } from "../shared/section.js";
import { metric } from "./metric-kit.js";
import type { MetricValue } from "./metrics.js";

/** The WebSocket sessions of the evidence's class histogram (the runbook's session classes), or null. */
export function sessionsOf(e: Evidence) {
  const h = dataOf(e.classHistogram);
  return h ? webSocketSessions(h) : null;
}

/** `org.eclipse.jetty.websocket.common.WebSocketSession` → `WebSocketSession`. */
export const shortName = (v: MetricValue | undefined): string =>
  typeof v === "string" ? v.slice(v.lastIndexOf(".") + 1) : "WebSocket session";

/** Connection-pool waits, the pool's time-outs in the log, the session class counted, and "is it Tomcat". */
export const POOL_METRICS = {
  "jvm.wsSessionClass": metric({
    type: "string",
    format: "text",
    label: "WebSocket session class with the most instances",
    sections: ["classHistogram"],
    derive: (e) => sessionsOf(e)?.className ?? null,
    sentence: (m) => `WebSocket session class: ${m["jvm.wsSessionClass"]}`,
  }),
  "threads.waitingForDbConnection": metric({
    type: "number",
    format: "count",
    label: "threads waiting for a pooled database connection",
    sections: ["threads"],
    // Probes before pool waits were counted: unknown, not 0.
    derive: (e) => dataOf(e.threads)?.waitingForDbConnection ?? null,
    sentence: (m) =>
      `${m["threads.waitingForDbConnection"]} threads waiting for a pooled database connection (HikariPool.getConnection or another pool's borrow)`,
  }),
  "logs.connectionNotAvailable": metric({
    type: "number",
    format: "count",
    label: '"Connection is not available, request timed out" lines in the log',
    sections: ["logs"],
    derive: (e) => dataOf(e.logs)?.connectionNotAvailable ?? null,
    sentence: (m) =>
      `${m["logs.connectionNotAvailable"]} "Connection is not available, request timed out" lines in the log (the pool's connectionTimeout)`,
  }),
  "tomcat.available": metric({
    type: "boolean",
    format: "boolean",
    label: "Tomcat version found",
    sections: [],
    derive: (e) => e.tomcat.status === "ok",
    sentence: (m) => (m["tomcat.available"] ? "Tomcat version found" : "no Tomcat found in the process"),
  }),
};
