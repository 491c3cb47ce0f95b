import { dataOf } from "../shared/section.js";
import { fmtMs, metric, n, pct, ratio } from "./metric-kit.js";
import type { MetricDef } from "./metrics.js";

/** The connections on the application port and its listener. Part of the catalogue (METRICS in metrics.ts). */
export const SOCKET_METRICS = {
  "input.port": metric({
    type: "number",
    format: "text",
    label: "application port",
    sections: [],
    derive: (e) => e.input.port,
  }),
  "sockets.total": metric({
    type: "number",
    format: "count",
    label: "connections on the port (LISTEN excluded)",
    sections: ["sockets"],
    derive: (e) => dataOf(e.sockets)?.total ?? null,
  }),
  "sockets.established": metric({
    type: "number",
    format: "count",
    label: "ESTABLISHED connections on the port",
    sections: ["sockets"],
    derive: (e) => dataOf(e.sockets)?.established ?? null,
    sentence: (m) => `${m["sockets.established"]} ESTABLISHED connections on port ${m["input.port"]}`,
  }),
  "sockets.closeWait": metric({
    type: "number",
    format: "count",
    label: "CLOSE-WAIT connections on the port",
    sections: ["sockets"],
    derive: (e) => {
      const s = dataOf(e.sockets);
      return s ? (s.byState["CLOSE-WAIT"] ?? 0) : null;
    },
  }),
  "sockets.idleOverThreshold": metric({
    type: "number",
    format: "count",
    label: "ESTABLISHED connections idle beyond the threshold",
    sections: ["sockets"],
    derive: (e) => dataOf(e.sockets)?.idle.overThreshold ?? null,
    sentence: (m) =>
      `${m["sockets.idleOverThreshold"]} of ${m["sockets.established"]} ESTABLISHED connections idle longer than ` +
      `${fmtMs(n(m, "sockets.idleThresholdMs") ?? 0)}` +
      (n(m, "sockets.maxIdleMs") === null ? "" : ` (longest ${fmtMs(n(m, "sockets.maxIdleMs") ?? 0)})`),
  }),
  "sockets.idleThresholdMs": metric({
    type: "number",
    format: "ms",
    label: "idle threshold of the socket probe",
    sections: ["sockets"],
    derive: (e) => dataOf(e.sockets)?.idle.thresholdMs ?? null,
  }),
  "sockets.idleRatio": metric({
    type: "number",
    format: "ratio",
    label: "share of ESTABLISHED connections idle beyond the threshold",
    sections: ["sockets"],
    derive: (e) => {
      const s = dataOf(e.sockets);
      return s ? ratio(s.idle.overThreshold, s.established) : null;
    },
    sentence: (m) =>
      `${pct(n(m, "sockets.idleRatio"))} of ESTABLISHED connections idle longer than ` +
      fmtMs(n(m, "sockets.idleThresholdMs") ?? 0),
  }),
  "sockets.maxIdleMs": metric({
    type: "number",
    format: "ms",
    label: "longest idle ESTABLISHED connection",
    sections: ["sockets"],
    derive: (e) => dataOf(e.sockets)?.idle.maxIdleMs ?? null,
  }),
  "sockets.sendQueueNonEmpty": metric({
    type: "number",
    format: "count",
    label: "ESTABLISHED connections with unread bytes queued (Send-Q > 0)",
    sections: ["sockets"],
    derive: (e) => dataOf(e.sockets)?.sendQueueNonEmpty ?? null,
  }),

  // ---- listener
  "listener.listening": metric({
    type: "boolean",
    format: "boolean",
    label: "a process listens on the port",
    sections: ["listener"],
    derive: (e) => dataOf(e.listener)?.listening ?? null,
    sentence: (m) =>
      m["listener.listening"]
        ? `a process listens on port ${m["input.port"]}`
        : `nothing listens on port ${m["input.port"]}`,
  }),
  "listener.acceptQueue": metric({
    type: "number",
    format: "count",
    label: "connections waiting in the accept queue",
    sections: ["listener"],
    derive: (e) => dataOf(e.listener)?.acceptQueue?.current ?? null,
    sentence: (m) =>
      `accept queue ${m["listener.acceptQueue"]} of ${m["listener.acceptQueueMax"] ?? "?"} (connections the process has not accepted)`,
  }),
  "listener.acceptQueueMax": metric({
    type: "number",
    format: "count",
    label: "accept queue maximum (backlog)",
    sections: ["listener"],
    derive: (e) => dataOf(e.listener)?.acceptQueue?.max ?? null,
  }),
} as const satisfies Record<string, MetricDef>;
