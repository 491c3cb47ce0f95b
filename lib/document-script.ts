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
