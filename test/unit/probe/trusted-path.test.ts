import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

/**
 * runbooks/lib/trusted-path.sh: which JDK tool the probes and the heap-dump action run (jdk_bin_of,
 * pick_tool). The JVM's own JDK folder is tried first for each tool; a JDK that lacks one tool still
 * lends the others; PATH comes next. A tool that would run as another user than the JVM's must come
 * from a root-owned path nobody else can write (the planted-JDK end-to-end case is
 * test/e2e/probe-hostile.test.ts).
 */
const LIB = fileURLToPath(new URL("../../../runbooks/lib/trusted-path.sh", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "trusted-path-"));
/** The JVM's own JDK: `java` and `jcmd`, no `jstat`. */
const own = join(root, "jdk/bin");
/** Another JDK on PATH, with both. */
const onPath = join(root, "path-jdk/bin");
for (const [dir, tools] of [
  [own, ["java", "jcmd"]],
  [onPath, ["jcmd", "jstat"]],
] as const) {
  mkdirSync(dir, { recursive: true });
  for (const t of tools) {
    writeFileSync(join(dir, t), "#!/bin/sh\nexit 0\n");
    chmodSync(join(dir, t), 0o755);
  }
}
afterAll(() => rmSync(root, { recursive: true, force: true }));

/**
 * Sources the lib, derives JDK_BIN from `exe` and picks each tool; prints "TOOL" or "refused: TOOL_WHY"
 * per tool. `runas`: the tools would run as the JVM's user (RUNAS set), so any path may be used.
 */
function pick(exe: string, tools: string[], o: { runas: boolean; path: string }): string[] {
  const script = `. "$1"; shift
RUNAS=(${o.runas ? "setpriv --reuid=65534 --regid=65534 --clear-groups --" : ""}); JVM_UID=${o.runas ? "65534" : "0"}
jdk_bin_of "$1"; shift
echo "JDK_BIN=$JDK_BIN"
for t in "$@"; do if pick_tool "$t"; then echo "$TOOL"; else echo "$TOOL_WHY"; fi; done`;
  const r = spawnSync("/bin/bash", ["-c", script, "bash", LIB, exe, ...tools], {
    encoding: "utf8",
    env: { PATH: o.path },
  });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim().split("\n");
}

describe("jdk_bin_of and pick_tool", () => {
  it("takes each tool from the JVM's own JDK when it has it, from PATH when it lacks it", () => {
    expect(pick(join(own, "java"), ["jcmd", "jstat", "jmap"], { runas: true, path: onPath })).toEqual([
      `JDK_BIN=${own}/`,
      join(own, "jcmd"),
      join(onPath, "jstat"),
      "jmap not found (no JDK tools on this host: JRE only?)",
    ]);
  });

  it("a process that is not a `java` (renamed, deleted, or not a JVM) lends no folder: PATH only", () => {
    for (const exe of ["/usr/bin/python3", `${join(own, "java")} (deleted)`, ""])
      expect(pick(exe, ["jcmd"], { runas: true, path: onPath })).toEqual(["JDK_BIN=", join(onPath, "jcmd")]);
  });

  it("as root, for a JVM of root, skips both writable folders and takes the root-owned JDK's tool, resolved", () => {
    // Both fake JDKs sit under the temporary folder, which everyone can write: neither may run as root.
    const system = spawnSync("bash", ["-c", "command -v jcmd"], { encoding: "utf8" }).stdout.trim();
    expect(system, "a JDK on PATH (the suite's setup installs one)").not.toBe("");
    const out = pick(join(own, "java"), ["jcmd"], {
      runas: false,
      path: `${onPath}:${join(system, "..")}`,
    });
    expect(out[0]).toBe(`JDK_BIN=${own}/`);
    // pick_tool tries the JVM's own jcmd first, then the first on PATH: both refused, no third candidate.
    expect(out[1]).toMatch(
      /^refused: jcmd at .*\/jdk\/bin\/jcmd would run as uid \d+ from an untrusted path: .*; jcmd at .*\/path-jdk\/bin\/jcmd would run as uid \d+ from an untrusted path: /,
    );
    const trusted = pick("/usr/bin/python3", ["jcmd"], { runas: false, path: join(system, "..") });
    expect(trusted).toEqual(["JDK_BIN=", realpathSync(system)]);
  });
});
