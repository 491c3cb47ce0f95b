import type { Evidence } from "../evidence/schema.js";
import { dataOf } from "../shared/section.js";
// A cycle on purpose (metrics.ts spreads these into METRICS): `metric` and `ratio` are function declarations,
// ready before either module runs; the other helpers are only called when a metric is derived or rendered.
import { fmtMs, metric, n, pct, ratio } from "./metric-kit.js";

const network = (e: Evidence) => (e.network ? dataOf(e.network) : null);

/** Metrics of the probe's `network` section and the accept queue: the socket classes' vocabulary. */
export const NETWORK_METRICS = {
  "listener.acceptQueueRatio": metric({
    type: "number",
    format: "ratio",
    label: "accept queue length over its maximum (backlog)",
    sections: ["listener"],
    derive: (e) => {
      const q = dataOf(e.listener)?.acceptQueue;
      return q ? ratio(q.current, q.max) : null;
    },
    sentence: (m) =>
      `accept queue ${m["listener.acceptQueue"]} of ${m["listener.acceptQueueMax"]} (Recv-Q of the LISTEN socket at its backlog: ${pct(n(m, "listener.acceptQueueRatio"))})`,
  }),

  // ---- network: sockets the process holds, listen drops, ephemeral ports, TIME-WAIT, conntrack
  "network.closeWait": metric({
    type: "number",
    format: "count",
    label: "CLOSE-WAIT sockets the process holds",
    sections: ["network"],
    derive: (e) => {
      const o = network(e)?.owned;
      return o ? o.closeWaitAppPort + o.closeWaitOutbound : null;
    },
    sentence: (m) =>
      `the process holds ${m["network.closeWait"]} sockets in CLOSE-WAIT (${m["network.closeWaitAppPort"]} on port ${m["input.port"]}, ${m["network.closeWaitOutbound"]} outbound)`,
  }),
  "network.closeWaitAppPort": metric({
    type: "number",
    format: "count",
    label: "CLOSE-WAIT sockets the process holds on the app port",
    sections: ["network"],
    derive: (e) => network(e)?.owned?.closeWaitAppPort ?? null,
    sentence: (m) =>
      `${m["network.closeWaitAppPort"]} CLOSE-WAIT sockets on port ${m["input.port"]} held by the process`,
  }),
  "network.closeWaitOutbound": metric({
    type: "number",
    format: "count",
    label: "outbound CLOSE-WAIT sockets the process holds",
    sections: ["network"],
    derive: (e) => network(e)?.owned?.closeWaitOutbound ?? null,
    sentence: (m) =>
      `${m["network.closeWaitOutbound"]} outbound CLOSE-WAIT sockets held by the process` +
      (m["network.closeWaitTopPeer"] === null
        ? ""
        : `, ${m["network.closeWaitTopPeerCount"]} of them to ${m["network.closeWaitTopPeer"]}`),
  }),
  "network.closeWaitTopPeer": metric({
    type: "string",
    format: "text",
    label: "remote endpoint of most outbound CLOSE-WAIT sockets",
    sections: ["network"],
    derive: (e) => network(e)?.owned?.closeWaitPeers[0]?.address ?? null,
    sentence: (m) =>
      `most outbound CLOSE-WAIT sockets point at ${m["network.closeWaitTopPeer"]} (${m["network.closeWaitTopPeerCount"]})`,
  }),
  "network.closeWaitTopPeerCount": metric({
    type: "number",
    format: "count",
    label: "outbound CLOSE-WAIT sockets to the top remote endpoint",
    sections: ["network"],
    derive: (e) => network(e)?.owned?.closeWaitPeers[0]?.count ?? null,
  }),
  "network.closeWaitFdShare": metric({
    type: "number",
    format: "ratio",
    label: "share of the open fds that are CLOSE-WAIT sockets",
    sections: ["network", "fds"],
    derive: (e) => {
      const o = network(e)?.owned;
      return o ? ratio(o.closeWaitAppPort + o.closeWaitOutbound, dataOf(e.fds)?.open) : null;
    },
    sentence: (m) =>
      `${m["network.closeWait"]} of ${m["fds.open"]} open fds are sockets in CLOSE-WAIT (${pct(n(m, "network.closeWaitFdShare"))})`,
  }),
  "network.listenDropsDuringSample": metric({
    type: "number",
    format: "count",
    label: "connections the kernel dropped at a full listen queue during the sample",
    sections: ["network"],
    derive: (e) => {
      const l = network(e)?.listenDrops;
      return l ? Math.max(l.overflowsAfter - l.overflowsBefore, l.dropsAfter - l.dropsBefore, 0) : null;
    },
    sentence: (m) =>
      `TcpExt ListenOverflows/ListenDrops rose by ${m["network.listenDropsDuringSample"]} in ` +
      `${fmtMs(n(m, "network.listenSampleMs") ?? 0)} (connections dropped at a full accept queue)`,
  }),
  "network.listenSampleMs": metric({
    type: "number",
    format: "ms",
    label: "interval between the two listen-counter samples",
    sections: ["network"],
    derive: (e) => network(e)?.listenDrops?.intervalMs ?? null,
  }),
  "network.ephemeralRangeSize": metric({
    type: "number",
    format: "count",
    label: "ports in ip_local_port_range",
    sections: ["network"],
    derive: (e) => {
      const r = network(e)?.ephemeral;
      return r ? Math.max(r.high - r.low + 1, 0) : null;
    },
  }),
  "network.ephemeralInUse": metric({
    type: "number",
    format: "count",
    label: "sockets of the host on ephemeral local ports",
    sections: ["network"],
    derive: (e) => network(e)?.ephemeral?.inUse ?? null,
  }),
  "network.ephemeralTopDestination": metric({
    type: "string",
    format: "text",
    label: "destination with most sockets on ephemeral ports",
    sections: ["network"],
    derive: (e) => network(e)?.ephemeral?.topDestination?.address ?? null,
  }),
  "network.ephemeralTopDestinationCount": metric({
    type: "number",
    format: "count",
    label: "sockets on ephemeral ports to the busiest destination",
    sections: ["network"],
    derive: (e) => {
      const r = network(e)?.ephemeral;
      return r ? (r.topDestination?.count ?? 0) : null;
    },
  }),
  "network.ephemeralUsedRatio": metric({
    type: "number",
    format: "ratio",
    label: "share of the ephemeral port range used towards the busiest destination",
    sections: ["network"],
    derive: (e) => {
      const r = network(e)?.ephemeral;
      return r ? ratio(r.topDestination?.count ?? 0, Math.max(r.high - r.low + 1, 0)) : null;
    },
    sentence: (m) =>
      m["network.ephemeralTopDestination"] === null
        ? `no outbound sockets on the ${m["network.ephemeralRangeSize"]} ephemeral ports`
        : `${m["network.ephemeralTopDestinationCount"]} sockets to ${m["network.ephemeralTopDestination"]} on the ` +
          `${m["network.ephemeralRangeSize"]} ephemeral ports (ip_local_port_range): ${pct(n(m, "network.ephemeralUsedRatio"))} used`,
  }),
  "network.timeWait": metric({
    type: "number",
    format: "count",
    label: "TCP sockets of the host in TIME-WAIT",
    sections: ["network"],
    derive: (e) => network(e)?.timeWait?.total ?? null,
  }),
  "network.timeWaitEphemeralRatio": metric({
    type: "number",
    format: "ratio",
    label: "TIME-WAIT sockets on ephemeral local ports over the range size",
    sections: ["network"],
    derive: (e) => {
      const w = network(e);
      return w?.timeWait && w.ephemeral
        ? ratio(w.timeWait.ephemeral, Math.max(w.ephemeral.high - w.ephemeral.low + 1, 0))
        : null;
    },
    sentence: (m) =>
      `${m["network.timeWait"]} sockets in TIME-WAIT on the host; those on ephemeral ports fill ` +
      `${pct(n(m, "network.timeWaitEphemeralRatio"))} of the ${m["network.ephemeralRangeSize"]}-port range`,
  }),
  "network.conntrackLoaded": metric({
    type: "boolean",
    format: "boolean",
    label: "nf_conntrack loaded",
    sections: ["network"],
    derive: (e) => network(e)?.conntrack?.loaded ?? null,
    sentence: (m) =>
      m["network.conntrackLoaded"]
        ? "nf_conntrack is loaded"
        : "nf_conntrack is not loaded (no connection tracking table)",
  }),
  "network.conntrackUsedRatio": metric({
    type: "number",
    format: "ratio",
    label: "conntrack entries over nf_conntrack_max (0 without conntrack)",
    sections: ["network"],
    derive: (e) => {
      const c = network(e)?.conntrack;
      return c ? (c.loaded ? ratio(c.count, c.max) : 0) : null;
    },
    sentence: (m) =>
      m["network.conntrackLoaded"] === false
        ? "no conntrack table (nf_conntrack is not loaded)"
        : `conntrack table ${pct(n(m, "network.conntrackUsedRatio"))} full (nf_conntrack_count over nf_conntrack_max)`,
  }),
  "network.conntrackTableFullLines": metric({
    type: "number",
    format: "count",
    label: '"nf_conntrack: table full, dropping packet" lines in the kernel log',
    sections: ["network"],
    derive: (e) => network(e)?.conntrack?.tableFullLines ?? null,
    sentence: (m) => {
      const w = n(m, "network.conntrackTableFullWindowSeconds");
      return `${m["network.conntrackTableFullLines"]} "nf_conntrack: table full, dropping packet" lines in the kernel log${w ? ` of the last ${Math.round(w / 60)} minutes` : ""}`;
    },
  }),
  "network.conntrackTableFullWindowSeconds": metric({
    type: "number",
    format: "seconds",
    label: "how far back the kernel log's conntrack lines were counted",
    sections: ["network"],
    derive: (e) => network(e)?.conntrack?.tableFullWindowSeconds ?? null,
    sentence: (m) =>
      `the kernel log's conntrack lines counted over the last ${m["network.conntrackTableFullWindowSeconds"]} s`,
  }),
};
