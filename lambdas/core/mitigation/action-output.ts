/** Action scripts print `key=value` lines; this reads them (pure). Later keys win; other lines are ignored. */
export function parseKeyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line.trim());
    if (m?.[1] !== undefined && m[2] !== undefined) out[m[1]] = m[2];
  }
  return out;
}

export interface HealthAttempt {
  readonly attempt: number;
  readonly outcome: string;
  readonly status: number | null;
  readonly latencyMs: number | null;
}

/** Reads check-health.sh output: one line per attempt, then `recovered=`. */
export function parseHealthChecks(text: string): { attempts: HealthAttempt[]; recovered: boolean } {
  const attempts: HealthAttempt[] = [];
  let recovered = false;
  for (const line of text.split("\n")) {
    if (line.startsWith("attempt=")) {
      const kv = Object.fromEntries(line.split(" ").map((p) => p.split("=") as [string, string]));
      attempts.push({
        attempt: Number(kv.attempt),
        outcome: kv.outcome ?? "error",
        status: kv.status && kv.status !== "000" ? Number(kv.status) : null,
        latencyMs: kv.latencyMs ? Number(kv.latencyMs) : null,
      });
    } else if (line.trim() === "recovered=true") recovered = true;
  }
  return { attempts, recovered };
}
