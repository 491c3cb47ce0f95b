/** Messages that say what was expected and what was given (pure helpers of the runbook loader). */

/** How a given value is named in a message: `"x"`, `a list`, `nothing`... */
export function describeValue(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return JSON.stringify(v);
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] ?? 0;
      row[j] = Math.min((row[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length] ?? 0;
}

/** "expected one of a|b|c, got x" — long lists shortened to the closest few. */
export function expectedOneOf(options: readonly string[], actual: unknown): string {
  const got = describeValue(actual);
  if (options.length <= 10) return `expected one of ${options.join(" | ")}, got ${got}`;
  const close =
    typeof actual === "string"
      ? [...options].sort((x, y) => distance(actual, x) - distance(actual, y)).slice(0, 3)
      : options.slice(0, 3);
  return `expected one of ${options.length} names (closest: ${close.join(", ")}), got ${got}`;
}
