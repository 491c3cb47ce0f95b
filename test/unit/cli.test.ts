import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

import { SOURCE_BIN as bin } from "../support/cli.js";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));

describe("runbook CLI", () => {
  it("prints the package version", () => {
    expect(execFileSync("node", [bin, "--version"], { encoding: "utf8" }).trim()).toBe(pkg.version);
  });

  it("prints help naming the program", () => {
    const out = execFileSync("node", [bin, "--help"], { encoding: "utf8" });
    expect(out).toMatch(/^Usage: runbook/m);
  });

  it("rejects an unknown command with a non-zero exit and a message", () => {
    const r = spawnSync("node", [bin, "no-such-command"], { encoding: "utf8" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/no-such-command|unknown command|too many arguments/);
  });
});
