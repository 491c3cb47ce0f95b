import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../lambdas/adapters/local/package-root.js";
import { buildCli } from "../../scripts/build.js";

/**
 * The compiled CLI answers `--version` and `--help` without loading the commands (cli/bin.ts): the
 * answers must be exactly what the full CLI prints, and nothing but the entry and package-root loads.
 * Built into a temporary folder under the repository (package-root finds package.json above it).
 */
const ROOT = packageRoot();
let dir = "";
let cli = "";

beforeAll(async () => {
  dir = mkdtempSync(join(ROOT, ".test-cli-"));
  await buildCli(dir);
  cli = join(dir, "runbook.mjs");
}, 120_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], {
    encoding: "utf8",
    env: { ...process.env, COLUMNS: "80" },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("the compiled CLI's fast paths", () => {
  it("--version and -V print the package's version", () => {
    const version = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string })
      .version;
    for (const flag of ["--version", "-V"])
      expect(run(flag)).toEqual({ code: 0, stdout: `${version}\n`, stderr: "" });
  });

  it("--help prints what the full CLI prints for `help`", () => {
    const fast = run("--help");
    const full = run("help");
    expect(fast.code).toBe(0);
    expect(fast.stdout).toContain("Usage: runbook");
    expect(fast.stdout).toContain("diagnose");
    expect(fast.stdout).toBe(full.stdout);
  });

  it("statically imports no command module: main and the commands are loaded on demand", () => {
    const entry = readFileSync(cli, "utf8");
    const staticImports = [
      ...entry.matchAll(/import\s*(?:[\w{}\s,*$]+from\s*)?["']\.\/chunks\/([^"']+)["']/g),
    ].map((m) => m[1]);
    const dynamicImports = [...entry.matchAll(/import\(\s*["']\.\/chunks\/([^"']+)["']\s*\)/g)].map(
      (m) => m[1],
    );
    expect(dynamicImports.some((f) => f?.startsWith("main-"))).toBe(true);
    expect(staticImports.filter((f) => f?.startsWith("main-"))).toEqual([]);
    // What --version loads is small: the entry (with the help text) and package-root.
    expect(entry.length).toBeLessThan(16_000);
  });

  it("carries zod's English messages only (its ~60 locales were ~260 KB of the CLI)", () => {
    const code = [
      cli,
      ...readdirSync(join(dir, "chunks"))
        .filter((f) => f.endsWith(".mjs"))
        .map((f) => join(dir, "chunks", f)),
    ]
      .map((f) => readFileSync(f, "utf8"))
      .join("\n");
    // English is there (zod installs it); German, French and Japanese messages are not.
    expect(code).toContain("Invalid input");
    for (const foreign of ["Zeichen", "caractères", "文字"]) expect(code).not.toContain(foreign);
  });
});
