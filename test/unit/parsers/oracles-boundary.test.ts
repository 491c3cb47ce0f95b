import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO } from "../../support/cli.js";

/**
 * Issue 12, point 5: one socket and one thread aggregation in production, the probe's awk.
 * The TypeScript readings of the raw tool outputs (test/support/oracles/) are test oracles only.
 */
function sources(dir: string): string[] {
  return readdirSync(join(REPO, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts") && !e.name.endsWith(".d.ts"))
    .map((e) => relative(REPO, join(e.parentPath, e.name)));
}

const PRODUCTION = ["lambdas", "lib", "cli", "bin"].flatMap((d) => {
  try {
    return sources(d);
  } catch {
    return [];
  }
});
const SPECIFIER = /(?:from|import)\s*\(?\s*["']([^"']+)["']/g;

describe("test oracles stay out of production code", () => {
  it("scans the production sources", () => {
    expect(PRODUCTION.length).toBeGreaterThan(50);
    expect(PRODUCTION).toContain("lambdas/core/parsers/probe-output.ts");
  });

  it("no file under lambdas/, lib/, cli/ or bin/ imports from test/", () => {
    const offenders = PRODUCTION.flatMap((f) =>
      [...readFileSync(join(REPO, f), "utf8").matchAll(SPECIFIER)]
        .map((m) => m[1] ?? "")
        .filter((spec) => /(^|\/)test\/|oracles/.test(spec))
        .map((spec) => `${f} imports ${spec}`),
    );
    expect(offenders).toEqual([]);
  });

  it("no socket or thread aggregation left in the TypeScript core", () => {
    const names = /\b(aggregateSockets|aggregateThreads|parseSs|parseJstack)\b/;
    const offenders = PRODUCTION.filter((f) => names.test(readFileSync(join(REPO, f), "utf8")));
    expect(offenders).toEqual([]);
  });
});
