import type { Network } from "../evidence/schema.js";
import type { Section } from "../shared/section.js";
import { counted, type ProbeDocument, section } from "./probe-document.js";

/** The `network` section (probe `collect_network`); absent from older probes' output: no key at all. */
export function networkSection(doc: ProbeDocument): { network?: Section<Network> } {
  if (!doc.sections.has("network")) return {};
  return {
    network: section<Network>(doc, "network", (f) => {
      const has = (key: string) => f.all(key).length > 0;
      const byState: Record<string, number> = {};
      for (const e of f.prefixed("owned.state.")) byState[e.key.slice("owned.state.".length)] = f.int(e.key);
      const top = counted(f, "ephemeral.topDestination", "address")[0];
      return {
        owned: has("owned.total")
          ? {
              total: f.int("owned.total"),
              byState,
              closeWaitAppPort: f.int("owned.closeWaitAppPort"),
              closeWaitOutbound: f.int("owned.closeWaitOutbound"),
              closeWaitPeers: counted(f, "owned.closeWaitPeer", "address").map((e) => ({
                address: e.value,
                count: e.count,
              })),
              closeWaitLocalPorts: counted(f, "owned.closeWaitLocalPort", "port").map((e) => ({
                port: Number(e.value),
                count: e.count,
              })),
            }
          : null,
        listenDrops: has("listen.overflowsBefore")
          ? {
              overflowsBefore: f.int("listen.overflowsBefore"),
              overflowsAfter: f.int("listen.overflowsAfter"),
              dropsBefore: f.int("listen.dropsBefore"),
              dropsAfter: f.int("listen.dropsAfter"),
              intervalMs: f.int("listen.intervalMs"),
              ...(f.optInt("listen.minIntervalMs") === null
                ? {}
                : { minIntervalMs: f.int("listen.minIntervalMs") }),
            }
          : null,
        ephemeral: has("ephemeral.low")
          ? {
              low: f.int("ephemeral.low"),
              high: f.int("ephemeral.high"),
              inUse: f.int("ephemeral.inUse"),
              topDestination: top ? { address: top.value, count: top.count } : null,
            }
          : null,
        timeWait: has("timeWait.total")
          ? { total: f.int("timeWait.total"), ephemeral: f.int("timeWait.ephemeral") }
          : null,
        conntrack: has("conntrack.loaded")
          ? {
              loaded: f.bool("conntrack.loaded"),
              count: f.optInt("conntrack.count"),
              max: f.optInt("conntrack.max"),
              tableFullLines: f.optInt("conntrack.tableFullLines"),
              tableFullWindowSeconds: f.optInt("conntrack.tableFullWindowSeconds"),
            }
          : null,
      };
    }),
  };
}
