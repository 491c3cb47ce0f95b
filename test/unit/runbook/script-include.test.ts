import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { assembleScript, ScriptIncludeError } from "../../../lambdas/core/runbook/script-include.js";
import { readRunbookScript } from "../../../lambdas/workflows/runbook-files.js";
import { REPO } from "../../support/cli.js";

/** The include line of a script in actions/ (or probes/) for lib/<file>. */
const include = (file: string) => `. "\${0%"\${0##*/}"}../lib/${file}"  # runbook:include lib/${file}`;

function files(map: Record<string, string>) {
  return (path: string) => map[path] ?? null;
}

describe("assembleScript: include lines become the included file's text", () => {
  it("puts the file's content in place of the line, once per include, keeping everything else as it is", () => {
    const out = assembleScript(
      "actions/a.sh",
      files({
        "actions/a.sh": `#!/usr/bin/env bash\n# a comment naming runbook:include lib/x.sh is no include\nNAME=a\n${include("pre.sh")}\necho "$NAME"\n`,
        "lib/pre.sh": "# shellcheck shell=bash\nguard\nhelper() { :; }\n",
      }),
    );
    expect(out).toBe(
      '#!/usr/bin/env bash\n# a comment naming runbook:include lib/x.sh is no include\nNAME=a\n# shellcheck shell=bash\nguard\nhelper() { :; }\necho "$NAME"\n',
    );
    expect(out).not.toMatch(/^\. .*runbook:include/m);
  });

  it("a script without includes is its text, unchanged", () => {
    const text = "#!/bin/bash\necho hi\n";
    expect(assembleScript("probes/p.sh", files({ "probes/p.sh": text }))).toBe(text);
  });

  it.each([
    [
      "a missing included file",
      { "actions/a.sh": `x=1\n${include("gone.sh")}\n` },
      "actions/a.sh:2: included file lib/gone.sh not found",
    ],
    [
      "a path escaping the runbooks folder",
      { "actions/a.sh": `. "\${0%"\${0##*/}"}../../etc/x.sh"  # runbook:include ../etc/x.sh\n` },
      "actions/a.sh:1: include path ../etc/x.sh leaves the runbooks folder or is not normal",
    ],
    [
      "a path that is not normal (it could hide an escape)",
      { "actions/a.sh": `. "\${0%"\${0##*/}"}../lib/x.sh"  # runbook:include lib/../lib/x.sh\n` },
      "actions/a.sh:1: include path lib/../lib/x.sh leaves the runbooks folder or is not normal",
    ],
    [
      "an absolute path",
      { "actions/a.sh": `. "/etc/x.sh"  # runbook:include /etc/x.sh\n` },
      /actions\/a\.sh:1: malformed include/,
    ],
    [
      "a file outside lib/",
      { "actions/a.sh": `. "\${0%"\${0##*/}"}b.sh"  # runbook:include actions/b.sh\n`, "actions/b.sh": "" },
      "actions/a.sh:1: include path actions/b.sh must be a lib/<file>.sh of the runbooks folder",
    ],
    [
      "a line that sources another file than it names",
      { "actions/a.sh": `. "\${0%"\${0##*/}"}../lib/y.sh"  # runbook:include lib/x.sh\n`, "lib/x.sh": "" },
      "actions/a.sh:1: the line sources lib/y.sh (from the script's folder) but says runbook:include lib/x.sh",
    ],
    [
      "a malformed include (dirname forks, and has no fixed form)",
      { "actions/a.sh": `. "$(dirname "$0")/../lib/x.sh"  # runbook:include lib/x.sh\n` },
      /actions\/a\.sh:1: malformed include, expected: /,
    ],
    [
      "a nested include (policy: an included file includes nothing)",
      {
        "actions/a.sh": `${include("x.sh")}\n`,
        "lib/x.sh": `f() { :; }\n. "\${0%"\${0##*/}"}y.sh"  # runbook:include lib/y.sh\n`,
        "lib/y.sh": "",
      },
      "lib/x.sh:2 (included by actions/a.sh:1): an included file includes nothing (no nested includes)",
    ],
    [
      "the same file twice",
      { "actions/a.sh": `${include("x.sh")}\n${include("x.sh")}\n`, "lib/x.sh": "f() { :; }\n" },
      "actions/a.sh:2: lib/x.sh is included twice",
    ],
    ["a missing script", {}, "runbook script actions/a.sh not found"],
  ])("refuses %s, naming the script and the line", (_what, map, message) => {
    const run = () => assembleScript("actions/a.sh", files(map));
    expect(run).toThrow(ScriptIncludeError);
    expect(run).toThrow(message);
  });
});

describe("readRunbookScript: the one reader of scripts that are sent", () => {
  // The runbooks folder, and a file next to it (reachable by `..`, never read).
  const base = mkdtempSync(join(tmpdir(), "runbooks-include-"));
  afterAll(() => rmSync(base, { recursive: true, force: true }));
  const dir = join(base, "runbooks");
  mkdirSync(join(dir, "actions"), { recursive: true });
  mkdirSync(join(dir, "lib"));
  writeFileSync(join(dir, "lib/pre.sh"), "pre() { :; }\n");
  writeFileSync(join(dir, "actions/a.sh"), `#!/bin/bash\n${include("pre.sh")}\npre\n`);
  writeFileSync(join(base, "outside.sh"), "echo outside\n");

  it("reads the script and the lib file from the runbooks folder", () => {
    expect(readRunbookScript(dir, "actions/a.sh")).toBe("#!/bin/bash\npre() { :; }\npre\n");
  });

  it("reads nothing outside the runbooks folder, even for the script itself", () => {
    expect(() => readRunbookScript(dir, "../outside.sh")).toThrow(/not found/);
  });
});

describe("every runbook script as it is sent (the repository's runbooks/)", () => {
  const root = join(REPO, "runbooks");
  const scripts = ["actions", "probes"].flatMap((d) =>
    readdirSync(join(root, d))
      .filter((f) => f.endsWith(".sh"))
      .map((f) => `${d}/${f}`),
  );
  const libs = readdirSync(join(root, "lib")).filter((f) => f.endsWith(".sh"));

  it("has scripts and lib files to check", () => {
    expect(scripts).toEqual(
      expect.arrayContaining(["actions/kill-idle-connections.sh", "probes/leak-watch.sh"]),
    );
    expect(libs.sort()).toEqual([
      "action-preamble.sh",
      "hotspot-attach.sh",
      "probe-inputs.sh",
      "socket-aggregate.sh",
      "trusted-path.sh",
    ]);
  });

  it.each(scripts)("%s: no include line left, each included lib file inlined exactly once", (path) => {
    const source = readFileSync(join(root, path), "utf8");
    const sent = readRunbookScript(root, path);
    expect(sent).not.toMatch(/^[^#\n]*runbook:include/m);
    const included = [...source.matchAll(/# runbook:include (lib\/\S+)$/gm)].map((m) => m[1] ?? "");
    // Every action shares the preamble; every probe its input checks and the socket aggregation; what
    // attaches to a JVM, the attach's checks and the trust check of what it runs.
    const attaches = ["actions/heap-dump.sh", "probes/api-unreachable.sh", "probes/leak-watch.sh"].includes(
      path,
    )
      ? ["lib/hotspot-attach.sh", "lib/trusted-path.sh"]
      : [];
    expect(included.sort()).toEqual(
      [
        ...(path.startsWith("actions/")
          ? ["lib/action-preamble.sh"]
          : ["lib/probe-inputs.sh", "lib/socket-aggregate.sh"]),
        ...attaches,
      ].sort(),
    );
    for (const lib of included) {
      const body = readFileSync(join(root, lib), "utf8").trimEnd();
      expect(sent.split(body).length - 1, lib).toBe(1);
    }
  });

  it("both probes carry the one socket aggregation (ss_aggregate), once each", () => {
    for (const probe of ["probes/api-unreachable.sh", "probes/leak-watch.sh"]) {
      const sent = readRunbookScript(root, probe);
      expect(sent.split("ss_aggregate() {").length - 1, probe).toBe(1);
      expect(readFileSync(join(root, probe), "utf8")).not.toContain("ss_aggregate() {");
    }
  });
});
