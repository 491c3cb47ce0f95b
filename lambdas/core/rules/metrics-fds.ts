import { dataOf } from "../shared/section.js";
import { metric, n, pct, ratio } from "./metric-kit.js";
import type { MetricDef } from "./metrics.js";

/** The file descriptors of the process, and the system-wide file handles. Part of the catalogue (METRICS in metrics.ts). */
export const FD_METRICS = {
  "fds.available": metric({
    type: "boolean",
    format: "boolean",
    label: "file descriptor listing collected",
    sections: [],
    derive: (e) => e.fds.status === "ok",
  }),
  "fds.open": metric({
    type: "number",
    format: "count",
    label: "open fds",
    sections: ["fds"],
    derive: (e) => dataOf(e.fds)?.open ?? null,
    sentence: (m) =>
      m["fds.limit"] === null
        ? `open fds ${m["fds.open"]} (no soft limit)`
        : `open fds ${m["fds.open"]} of limit ${m["fds.limit"]} (${pct(n(m, "fds.usedRatio"))})`,
  }),
  "fds.limit": metric({
    type: "number",
    format: "count",
    label: "soft open-files limit",
    sections: ["fds"],
    derive: (e) => dataOf(e.fds)?.limitSoft ?? null,
  }),
  "fds.usedRatio": metric({
    type: "number",
    format: "ratio",
    label: "share of the open-files limit in use",
    sections: ["fds"],
    derive: (e) => {
      const f = dataOf(e.fds);
      if (!f) return null;
      return f.limitSoft === null ? 0 : f.limitSoft === 0 ? 1 : f.open / f.limitSoft;
    },
    sentence: (m) =>
      m["fds.limit"] === null
        ? `open fds ${m["fds.open"]}, no soft limit`
        : `open fds ${m["fds.open"]} of limit ${m["fds.limit"]} (${pct(n(m, "fds.usedRatio"))})`,
  }),
  "fds.sockets": metric({
    type: "number",
    format: "count",
    label: "socket fds",
    sections: ["fds"],
    derive: (e) => dataOf(e.fds)?.byKind.socket ?? null,
  }),
  "fds.files": metric({
    type: "number",
    format: "count",
    label: "regular-file fds",
    sections: ["fds"],
    derive: (e) => dataOf(e.fds)?.byKind.file ?? null,
  }),
  "fds.socketRatio": metric({
    type: "number",
    format: "ratio",
    label: "share of open fds that are sockets",
    sections: ["fds"],
    derive: (e) => {
      const f = dataOf(e.fds);
      return f ? ratio(f.byKind.socket, f.open) : null;
    },
    sentence: (m) =>
      `${m["fds.sockets"]} of ${m["fds.open"]} open fds are sockets (${pct(n(m, "fds.socketRatio"))})`,
  }),
  "fds.fileRatio": metric({
    type: "number",
    format: "ratio",
    label: "share of open fds that are regular files",
    sections: ["fds"],
    derive: (e) => {
      const f = dataOf(e.fds);
      return f ? ratio(f.byKind.file, f.open) : null;
    },
    sentence: (m) =>
      `${m["fds.files"]} of ${m["fds.open"]} open fds are regular files (${pct(n(m, "fds.fileRatio"))})`,
  }),
  "fds.topFile": metric({
    type: "string",
    format: "text",
    label: "most frequently open file",
    sections: ["fds"],
    derive: (e) => dataOf(e.fds)?.topFiles[0]?.path ?? null,
    sentence: (m) => `most frequently open file: ${m["fds.topFile"]} (${m["fds.topFileCount"]} fds)`,
  }),
  "fds.topFileCount": metric({
    type: "number",
    format: "count",
    label: "fds on the most frequently open file",
    sections: ["fds"],
    derive: (e) => dataOf(e.fds)?.topFiles[0]?.count ?? null,
  }),
  "system.fileNrRatio": metric({
    type: "number",
    format: "ratio",
    label: "share of the system-wide file handle maximum in use",
    sections: ["fileNr"],
    derive: (e) => {
      const f = dataOf(e.fileNr);
      return f ? ratio(f.allocated, f.max) : null;
    },
  }),
} as const satisfies Record<string, MetricDef>;
