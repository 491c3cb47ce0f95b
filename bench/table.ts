/** Result rows of `npm run bench` and the printed table. */

export type Status = "PASS" | "MISS" | "INFO" | "ERROR";

export interface Row {
  /** Benchmark number and name, e.g. "1 diagnose (lab)". */
  readonly bench: string;
  readonly metric: string;
  /** Formatted value, e.g. "3.41 s". */
  readonly value: string;
  /** Formatted target, e.g. "< 5 s"; "-" for information-only figures. */
  readonly target: string;
  readonly status: Status;
}

/** A figure compared with an upper bound (`value < limit` passes). */
export function bounded(
  bench: string,
  metric: string,
  value: number,
  limit: number,
  fmt: (n: number) => string,
): Row {
  return {
    bench,
    metric,
    value: fmt(value),
    target: `< ${fmt(limit)}`,
    status: value < limit ? "PASS" : "MISS",
  };
}

/** A figure printed for context only: no target. */
export function info(bench: string, metric: string, value: string): Row {
  return { bench, metric, value, target: "-", status: "INFO" };
}

/** A benchmark that could not run: the only kind of result that makes `npm run bench` exit non-zero. */
export function failed(bench: string, error: unknown): Row {
  const message = error instanceof Error ? error.message : String(error);
  return {
    bench,
    metric: "could not run",
    value: message.split("\n")[0]?.slice(0, 160) ?? "",
    target: "-",
    status: "ERROR",
  };
}

export const ms = (n: number) => `${Math.round(n).toLocaleString("en-US")} ms`;
export const sec = (n: number) => `${(n / 1000).toFixed(2)} s`;
export const us = (n: number) => `${n < 100 ? n.toFixed(1) : Math.round(n).toLocaleString("en-US")} µs`;
export const ms2 = (n: number) => `${n.toFixed(2)} ms`;
export const chars = (n: number) => `${Math.round(n).toLocaleString("en-US")} chars`;
export const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
export const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
export const mb = (bytes: number) => `${(bytes / 1_000_000).toFixed(3)} MB`;

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function renderTable(rows: readonly Row[]): string {
  const head: Row = {
    bench: "benchmark",
    metric: "figure",
    value: "measured",
    target: "target",
    status: "INFO",
  };
  const cols = (r: Row) => [r.bench, r.metric, r.value, r.target, r === head ? "result" : r.status];
  const all = [head, ...rows].map(cols);
  const widths = [0, 1, 2, 3, 4].map((i) => Math.max(...all.map((c) => (c[i] ?? "").length)));
  const line = (c: string[]) =>
    c
      .map((cell, i) => (i === 2 || i === 3 ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join("  ");
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  return [line(all[0] ?? []), rule, ...all.slice(1).map(line)].join("\n").replace(/ +$/gm, "");
}
