/**
 * Benchmark 4b, run in its own process (`node --expose-gc --import tsx bench/ss-heap.ts N`) so the
 * heap figures are not mixed with the rest of the bench: heap used by parseSs on a SYNTHETIC
 * N-socket `ss -tanoi` text (bench/ss-synthetic.ts). Prints one JSON line.
 */
import { parseSs } from "../test/support/oracles/ss.js";
import { syntheticSsTanoi } from "./ss-synthetic.js";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with node --expose-gc");
const n = Number(process.argv[2] ?? "10000");
const port = 8080;

// Warm the parser's code paths on a small text first, so JIT code is not counted as parse heap.
parseSs(syntheticSsTanoi(200, port, 7), { port, idleThresholdMs: 120_000, topPeers: 10 });

const text = syntheticSsTanoi(n, port);
gc();
gc();
const before = process.memoryUsage().heapUsed;
const started = performance.now();
const r = parseSs(text, { port, idleThresholdMs: 120_000, topPeers: 10 });
const parseMs = performance.now() - started;
const afterNoGc = process.memoryUsage().heapUsed;
if (!r.ok) throw r.error;
gc();
gc();
const retained = process.memoryUsage().heapUsed - before;
const established = r.value.aggregate.established;
console.log(
  JSON.stringify({
    sockets: n,
    textChars: text.length,
    established,
    parseMs,
    /** heapUsed right after the parse, before any forced GC, minus the baseline: allocation not yet collected. */
    heapGrowthBytes: afterNoGc - before,
    /** heapUsed after full GCs with the parse result still referenced, minus the baseline. */
    retainedBytes: retained,
    keep: r.value.sockets.length,
  }),
);
