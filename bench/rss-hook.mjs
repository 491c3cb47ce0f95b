// Preloaded into the measured `runbook diagnose` process (`node --import ./bench/rss-hook.mjs`):
// when the process exits, writes its own peak resident set (VmHWM from /proc/self/status, in KiB)
// to the file named by BENCH_RSS_FILE. Nothing is written to stdout or stderr.
import { readFileSync, writeFileSync } from "node:fs";

const target = process.env.BENCH_RSS_FILE;
if (target) {
  process.on("exit", () => {
    try {
      const status = readFileSync("/proc/self/status", "utf8");
      const kib = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
      if (kib) writeFileSync(target, kib);
    } catch {
      // best effort: the bench reports a missing figure as an error
    }
  });
}
