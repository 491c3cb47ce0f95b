/**
 * Runbook scripts share code through include lines (docs/contracts.md, "Runbook scripts: includes"):
 *
 *     . "<the script's folder>../lib/action-preamble.sh"  # runbook:include lib/action-preamble.sh
 *
 * (the folder as the POSIX expansion of $0 less its last component: runbooks/actions/kill-idle-connections.sh
 * shows the exact form). The line really sources the file when the script is run from the repository (`bash runbooks/actions/x.sh`,
 * the tests, `shellcheck -x` through its `# shellcheck source=` directive). Everything that SENDS a script
 * (the SSM documents, the local runner, `runbook watch`) runs its assembled text instead: `assembleScript`
 * puts the included file's content in place of the line, so nothing is sourced on a host, and what the
 * SSM document carries is what the local runner runs.
 *
 * Rules (each broken one is an error naming the script and the line):
 * - the path after `runbook:include` is relative to the runbooks folder, lies under `lib/` and ends in `.sh`;
 *   it never leaves the runbooks folder (no `..` out of it, not absolute);
 * - the sourced path is the same file, relative to the script's own folder;
 * - the file exists;
 * - an included file includes nothing (no nesting: the preamble's guard stays first, one level to read);
 * - a script includes a file at most once.
 * Comment lines are never include lines.
 */
export class ScriptIncludeError extends Error {
  override name = "ScriptIncludeError";
}

// The include line: . "<$0 less its last component><path from the script's folder>"  # runbook:include <path from runbooks/>
const INCLUDE_LINE =
  /^\. "\$\{0%"\$\{0##\*\/\}"\}([A-Za-z0-9_./-]+)"\s+# runbook:include ([A-Za-z0-9_./-]+)\s*$/;
const MARK = "runbook:include";

/**
 * The text of `scriptPath` (relative to the runbooks folder) with every include line replaced by the
 * included file's content. `read(path)` gives a file of the runbooks folder by its relative path, or null
 * when there is none.
 */
export function assembleScript(scriptPath: string, read: (path: string) => string | null): string {
  const text = read(scriptPath);
  if (text === null) throw new ScriptIncludeError(`runbook script ${scriptPath} not found`);
  const seen = new Set<string>();
  const lines = text.split("\n").map((line, i) => {
    const path = includeOf(scriptPath, line, i + 1);
    if (path === null) return line;
    const where = `${scriptPath}:${i + 1}`;
    if (seen.has(path)) throw new ScriptIncludeError(`${where}: ${path} is included twice`);
    seen.add(path);
    const body = read(path);
    if (body === null) throw new ScriptIncludeError(`${where}: included file ${path} not found`);
    body.split("\n").forEach((inner, j) => {
      if (includeOf(path, inner, j + 1) !== null) {
        throw new ScriptIncludeError(
          `${path}:${j + 1} (included by ${where}): an included file includes nothing (no nested includes)`,
        );
      }
    });
    return body.endsWith("\n") ? body.slice(0, -1) : body;
  });
  return lines.join("\n");
}

/** The runbooks-relative path a line includes, null for any other line; a malformed include throws. */
function includeOf(scriptPath: string, line: string, lineNo: number): string | null {
  if (!line.includes(MARK) || /^\s*#/.test(line)) return null;
  const where = `${scriptPath}:${lineNo}`;
  const m = INCLUDE_LINE.exec(line);
  if (!m?.[1] || !m[2]) {
    throw new ScriptIncludeError(
      `${where}: malformed include, expected: . "\${0%"\${0##*/}"}<path from the script>"  # ${MARK} lib/<file>.sh`,
    );
  }
  const path = m[2];
  const normal = normalize(path);
  if (path.startsWith("/") || normal !== path || normal.startsWith("../")) {
    throw new ScriptIncludeError(
      `${where}: include path ${path} leaves the runbooks folder or is not normal`,
    );
  }
  if (!normal.startsWith("lib/") || !normal.endsWith(".sh")) {
    throw new ScriptIncludeError(
      `${where}: include path ${path} must be a lib/<file>.sh of the runbooks folder`,
    );
  }
  const dir = scriptPath.includes("/") ? scriptPath.slice(0, scriptPath.lastIndexOf("/")) : ".";
  const sourced = normalize(`${dir}/${m[1]}`);
  if (sourced !== normal) {
    throw new ScriptIncludeError(
      `${where}: the line sources ${sourced} (from the script's folder) but says ${MARK} ${path}`,
    );
  }
  return normal;
}

/**
 * A relative POSIX path with `.`, empty and resolvable `..` segments removed (what `path.posix.normalize`
 * gives for such a path, without a Node import: the core imports no I/O module, test/unit/layers.test.ts).
 */
function normalize(path: string): string {
  const out: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === ".." && out.length > 0 && out[out.length - 1] !== "..") out.pop();
    else out.push(segment);
  }
  return out.join("/");
}
