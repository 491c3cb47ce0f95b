/**
 * SYNTHETIC `ss -tanoi` output for the memory benchmark: a listener plus N ESTABLISHED sockets in the
 * real layout (a record line, then a tab-indented `ss -i` info line; copied from the lab capture
 * test/fixtures/raw/ws-leak-partial/ss-tanoi.txt), with peers, ports, keep-alive timers and
 * lastsnd/lastrcv/lastack values varied by a fixed-seed generator so idle times fall in every bucket.
 * Not a capture: no host had 10,000 sockets when it was written.
 */

const HEADER = "State     Recv-Q Send-Q      Local Address:Port        Peer Address:Port Process";
const LISTEN_INFO = "\t bbr cwnd:10";

/** Deterministic PRNG (mulberry32), so every run parses the same text. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Idle times spread over the probe's buckets (<1s … >=30min), in ms. */
const IDLE_SPANS_MS = [900, 9_000, 50_000, 240_000, 1_500_000, 7_200_000];

export function syntheticSsTanoi(sockets: number, port = 8080, seed = 42): string {
  const rand = rng(seed);
  const lines: string[] = [
    HEADER,
    `LISTEN    0      100    [::ffff:10.0.1.5]:${port}                  *:*    `,
    LISTEN_INFO,
  ];
  for (let i = 0; i < sockets; i++) {
    const peer = `10.0.${1 + Math.floor(rand() * 8)}.${1 + Math.floor(rand() * 250)}`;
    const peerPort = 32768 + Math.floor(rand() * 28000);
    const span = IDLE_SPANS_MS[Math.floor(rand() * IDLE_SPANS_MS.length)] ?? 1000;
    const lastrcv = Math.floor(rand() * span);
    const lastsnd = Math.max(0, lastrcv - Math.floor(rand() * 50));
    const timer = rand() < 0.3 ? ` timer:(keepalive,${1 + Math.floor(rand() * 119)}min,0)` : "";
    const rtt = (0.003 + rand() * 0.02).toFixed(3);
    lines.push(
      `ESTAB     0      0      [::ffff:10.0.1.5]:${port} [::ffff:${peer}]:${peerPort}${timer}`,
      `\t ts sack bbr wscale:10,10 rto:204 rtt:${rtt}/0.003 ato:40 mss:32768 pmtu:65535 rcvmss:536 advmss:65483 cwnd:11 bytes_sent:147 bytes_acked:147 bytes_received:156 segs_out:2 segs_in:4 data_segs_out:1 data_segs_in:1 bbr:(bw:23831265624bps,mrtt:0.008,pacing_gain:2.88672,cwnd_gain:2.88672) send 360448000000bps lastsnd:${lastsnd} lastrcv:${lastrcv} lastack:${lastsnd} pacing_rate 936460800000bps delivery_rate 23831272720bps delivered:2 app_limited rcv_space:65483 rcv_ssthresh:65483 minrtt:0.008 snd_wnd:65536`,
    );
  }
  return `${lines.join("\n")}\n`;
}
