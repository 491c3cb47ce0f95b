import * as z from "zod";
import { count } from "./count-schema.js";

/**
 * TCP beyond the app port's own connections (probe `collect_network`): the process's sockets by state and
 * where its CLOSE-WAIT sockets point, the listen-queue drop counters sampled twice, the ephemeral port
 * range and its busiest destination, TIME-WAIT, conntrack. Parts that need the target process are null
 * without one; parts the host does not offer (conntrack not loaded, kernel log unreadable) are null.
 */
export const networkSchema = z.object({
  /** TCP sockets the process holds open (fd inodes joined with `ss -tane`), LISTEN excluded. */
  owned: z
    .object({
      total: count,
      byState: z.record(z.string(), count),
      /** CLOSE-WAIT sockets it holds: on the app port (inbound) and elsewhere (outbound). */
      closeWaitAppPort: count,
      closeWaitOutbound: count,
      /** Outbound CLOSE-WAIT by remote endpoint (address:port), most first. */
      closeWaitPeers: z.array(z.object({ address: z.string(), count })).max(10),
      /** CLOSE-WAIT by local port, most first (the app port for inbound). */
      closeWaitLocalPorts: z.array(z.object({ port: z.number().int().min(0).max(65535), count })).max(10),
    })
    .nullable(),
  /** TcpExt ListenOverflows / ListenDrops of the target's network namespace, two samples. */
  listenDrops: z
    .object({
      overflowsBefore: count,
      overflowsAfter: count,
      dropsBefore: count,
      dropsAfter: count,
      intervalMs: count,
      /**
       * The least interval the probe waited for: 500 ms when the app port's accept queue was at least half
       * its backlog at the lookup, 0 when it was below (listen-backlog-overflow is then ruled out by the
       * queue itself). Absent from older probes (always 500 then, or 1,000).
       */
      minIntervalMs: count.optional(),
    })
    .nullable(),
  ephemeral: z
    .object({
      low: z.number().int().min(0).max(65535),
      high: z.number().int().min(0).max(65535),
      /** Non-LISTEN TCP sockets of the host whose local port is in the range (outbound connections). */
      inUse: count,
      /** The remote endpoint with most of them: each destination can use every port of the range once. */
      topDestination: z.object({ address: z.string(), count }).nullable(),
    })
    .nullable(),
  timeWait: z.object({ total: count, ephemeral: count }).nullable(),
  conntrack: z
    .object({
      loaded: z.boolean(),
      count: count.nullable(),
      max: count.nullable(),
      /** "nf_conntrack: table full, dropping packet" lines in the kernel log; null when it is unreadable. */
      tableFullLines: count.nullable(),
      /** Counted over the last this many seconds (the probe's 3,600); absent: the whole log (older evidence). */
      tableFullWindowSeconds: count.nullable().optional(),
    })
    .nullable(),
});
