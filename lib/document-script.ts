import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";

/**
 * A runbook script as an SSM document carries it: without comment-only lines and blank lines. SSM counts a
 * document's content and its runtime parameters against one 64 KB quota (MaxDocumentSizeExceeded), and the
 * probe's comments are a fifth of it. The host runs the same code as the file: only lines that bash reads
 * as nothing are dropped. A script with a here-document (whose body is data, where `#` lines count) is
 * refused rather than guessed at.
 */
export function documentScript(text: string, name: string): string {
  if (/<<-?\s*['"]?[A-Za-z_]/.test(text.replace(/<<</g, ""))) {
    throw new Error(`${name}: here-documents are not supported in runbook scripts (their lines are data)`);
  }
  const lines = text.split("\n");
  const kept = lines.filter((line, i) => (i === 0 && line.startsWith("#!")) || !/^\s*(#.*)?$/.test(line));
  return `${kept.join("\n")}\n`;
}

/** Above this many bytes a script travels compressed (the probe), leaving room for its parameters. */
export const PLAIN_SCRIPT_MAX_BYTES = 32 * 1024;
const PAYLOAD = /^printf '%s' '([A-Za-z0-9+/=]+)' \| base64 -d \| gzip -dc >"\$f" \|\| /;

/**
 * The `runCommand` lines of a document step that runs `text`. A script up to PLAIN_SCRIPT_MAX_BYTES is
 * carried as it is (what a person reads in the SSM console is what runs). A larger one (the probe, which
 * grows with every failure class) is carried gzip+base64 with a POSIX sh wrapper: it names the script and
 * the sha256 of what runs, writes it to a root-owned 0600 `mktemp` file (root runs the step), runs it with
 * bash (its SSM_* environment is inherited), removes it and exits with its status. No other user can
 * write that file: mktemp creates it with O_EXCL and mode 0600, as root (docs/security.md).
 */
export function documentCommands(text: string, name: string): string[] {
  const script = documentScript(text, name);
  if (Buffer.byteLength(script) <= PLAIN_SCRIPT_MAX_BYTES) return script.split("\n");
  const sha = createHash("sha256").update(script).digest("hex");
  const b64 = gzipSync(Buffer.from(script), { level: 9 }).toString("base64");
  return [
    "#!/bin/sh",
    `# runbook-autopilot ${name}: the script (sha256 ${sha}), gzip+base64 to fit SSM's 64 KB document quota.`,
    "f=$(mktemp) || exit 1",
    `printf '%s' '${b64}' | base64 -d | gzip -dc >"$f" || { rm -f "$f"; echo "error=${name}: the script could not be unpacked (base64 and gzip are needed)"; exit 1; }`,
    'bash "$f"; rc=$?',
    'rm -f "$f"',
    "exit $rc",
    "",
  ];
}

/** The script a document step runs: its `runCommand` joined, or unpacked when carried compressed. */
export function scriptOfCommands(lines: readonly string[]): string {
  for (const line of lines) {
    const m = PAYLOAD.exec(line);
    if (m?.[1]) return gunzipSync(Buffer.from(m[1], "base64")).toString("utf8");
  }
  return lines.join("\n");
}
