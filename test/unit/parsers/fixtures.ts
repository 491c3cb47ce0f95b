import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
/** Real captures made while developing the parsers (see captured/README.md). */
export const CAPTURED = join(here, "captured");
/** Scenario fixtures captured from the lab by scripts/capture-fixtures.ts. */
export const RAW = resolve(here, "../../fixtures/raw");

export function readText(dir: string, file: string): string {
  return readFileSync(join(dir, file), "utf8");
}

export function maybeText(dir: string, file: string): string | undefined {
  const p = join(dir, file);
  return existsSync(p) ? readFileSync(p, "utf8") : undefined;
}

export function rawScenarios(): string[] {
  if (!existsSync(RAW)) return [];
  return readdirSync(RAW, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}
