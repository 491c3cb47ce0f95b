import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PROBE, ROOT } from "./probe-harness.js";

/**
 * The probe reads the heap from the JVM's perf-data file as data (no jstat, no JVM started) and prints
 * it in `jstat -gcutil` columns. Each fixture folder holds a perf-data file copied from a lab JVM and
 * what `jstat -gcutil PID` printed for the same JVM at the same moment (an idle JVM: no GC between).
 */
const FIXTURES = join(ROOT, "test/fixtures/perfdata");

/** The probe's own perf_decode and perf_gcutil functions, cut out of the script text. */
function decoder(): string {
  const text = readFileSync(PROBE, "utf8");
  const start = text.indexOf("perf_decode() {");
  const end = text.indexOf('PERF_FILE=""');
  if (start < 0 || end < start) throw new Error("perf_decode/perf_gcutil not found in the probe");
  return text.slice(start, end);
}

function gcutil(file: string): { status: number | null; stdout: string; stderr: string } {
  const script = `${decoder()}\nexport LC_ALL=C\nod -An -v -tu1 -w1048576 -- "$1" | perf_decode | perf_gcutil`;
  const r = spawnSync("bash", ["-c", script, "bash", file], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("the probe's perf-data reader", () => {
  const dirs = readdirSync(FIXTURES);

  it("has fixtures to compare with", () => {
    expect(dirs.length).toBeGreaterThan(0);
  });

  it.each(dirs)("%s: the same columns and figures as jstat -gcutil", (dir) => {
    const r = gcutil(join(FIXTURES, dir, "hsperfdata.bin"));
    expect(r.status, r.stderr).toBe(0);
    const [row, times] = r.stdout.trim().split("\n");
    const jstat = readFileSync(join(FIXTURES, dir, "jstat-gcutil.txt"), "utf8")
      .trim()
      .split("\n");
    const header = jstat[0]?.trim().split(/\s+/);
    expect(header).toEqual([
      "S0",
      "S1",
      "E",
      "O",
      "M",
      "CCS",
      "YGC",
      "YGCT",
      "FGC",
      "FGCT",
      "CGC",
      "CGCT",
      "GCT",
    ]);
    expect(row?.trim().split(/\s+/)).toEqual(jstat.at(-1)?.trim().split(/\s+/));
    // Second line: the sample's time and the time since the last full GC ended (-1: none yet), ms.
    expect(times).toMatch(/^\d+ -?\d+$/);
  });

  it("refuses a file that is not perf data, saying so", () => {
    const r = gcutil(PROBE);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("not a perf-data file");
  });
});
