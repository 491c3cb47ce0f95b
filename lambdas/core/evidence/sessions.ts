import type { ClassHistogram } from "./schema.js";

/**
 * WebSocket sessions in a class histogram: the one reading of "how many sessions", for the rules, the
 * record's key figures and the postmortem. Which classes are sessions is runbook data
 * (`probe.sessionClasses`: Tomcat's `WsSession`, Jetty's `WebSocketSession`, ...), which the probe
 * records in the histogram (`sessionClasses`).
 */

/** Evidence from probes before the session classes were runbook data counted Tomcat's class only. */
export const LEGACY_SESSION_CLASSES: readonly string[] = ["org.apache.tomcat.websocket.WsSession"];

export interface SessionCount {
  /** Instances of every session class, summed. */
  readonly instances: number;
  /** The session class with the most instances (null when there are none). */
  readonly className: string | null;
}

/** Instances of the histogram's session classes: a watched row, else a top row, else 0 each. */
export function webSocketSessions(h: ClassHistogram): SessionCount {
  const names = h.sessionClasses ?? LEGACY_SESSION_CLASSES;
  let instances = 0;
  let best: { className: string; instances: number } | null = null;
  for (const className of names) {
    const row =
      h.watched.find((w) => w.className === className) ?? h.top.find((t) => t.className === className);
    const n = row?.instances ?? 0;
    instances += n;
    if (n > 0 && (best === null || n > best.instances)) best = { className, instances: n };
  }
  return { instances, className: best?.className ?? null };
}

/** The class name without its package: `WsSession`, `WebSocketSession`. */
export const shortClassName = (className: string): string => className.slice(className.lastIndexOf(".") + 1);
