import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * The architecture's import rules (README "Architecture we hold to"): the core takes data and returns
 * data (no SDK, fs, child_process or env: only zod, yaml and handlebars (or its runtime), and the ports' types); ports are
 * interfaces; adapters implement ports; workflows use core, ports and adapters; handlers and the CLI sit
 * on top. Nothing below imports from a layer above it.
 */
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const LAMBDAS = join(REPO, "lambdas");
const LAYERS = ["core", "ports", "adapters", "workflows", "handlers"] as const;
type Layer = (typeof LAYERS)[number];

/** What each layer may import from (besides itself). */
const MAY_IMPORT: Record<Layer, readonly Layer[]> = {
  core: ["ports"],
  ports: ["core"],
  adapters: ["core", "ports"],
  workflows: ["core", "ports", "adapters"],
  handlers: ["core", "ports", "adapters", "workflows"],
};
const CORE_PACKAGES = new Set(["zod", "yaml", "handlebars", "handlebars/runtime.js"]);

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

function specifiers(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/g))
    out.push(m[1] ?? "");
  for (const m of source.matchAll(/(?:^|\n)\s*import\s+"([^"]+)"/g)) out.push(m[1] ?? "");
  for (const m of source.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g)) out.push(m[1] ?? "");
  return out;
}

const withoutComments = (source: string) =>
  source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");

const layerOf = (file: string): Layer | "other" => {
  const top = relative(LAMBDAS, file).split("/")[0];
  return (LAYERS as readonly string[]).includes(top ?? "") ? (top as Layer) : "other";
};

describe("layers: nothing imports from a layer above it", () => {
  const all = files(LAMBDAS);

  it("finds the sources of every layer", () => {
    for (const l of LAYERS) expect(all.filter((f) => layerOf(f) === l).length, l).toBeGreaterThan(0);
  });

  it("each layer imports only from itself and the layers below", () => {
    const violations: string[] = [];
    for (const file of all) {
      const from = layerOf(file);
      if (from === "other") continue;
      for (const spec of specifiers(readFileSync(file, "utf8"))) {
        const where = relative(REPO, file);
        if (!spec.startsWith(".")) {
          if (from === "core" && !CORE_PACKAGES.has(spec))
            violations.push(`${where}: core imports "${spec}"`);
          continue;
        }
        const target = layerOf(resolve(dirname(file), spec));
        if (target !== from && !MAY_IMPORT[from].includes(target as Layer)) {
          violations.push(`${where}: ${from} imports ${target} ("${spec}")`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it("the core reads no environment", () => {
    const env = all
      .filter((f) => layerOf(f) === "core")
      .filter((f) => /\bprocess\.(env|argv|cwd)\b/.test(withoutComments(readFileSync(f, "utf8"))))
      .map((f) => relative(REPO, f));
    expect(env).toEqual([]);
  });
});
