/** One problem found in a runbook: where (YAML path and line), what was expected, and the input there. */
export interface RunbookIssue {
  /** YAML path such as `classes[2].variants[0].all[1].op`; empty for the document itself. */
  path: string;
  message: string;
  /** 1-based line and column in the file, when the YAML document gives them. */
  line: number | null;
  column: number | null;
  /** A few lines of the input around the problem, with a caret under the column. */
  excerpt: string | null;
}

export function formatIssue(source: string, issue: RunbookIssue): string {
  const where = issue.line === null ? source : `${source}:${issue.line}:${issue.column ?? 1}`;
  const path = issue.path === "" ? "" : ` at ${issue.path}`;
  const excerpt = issue.excerpt ? `\n${issue.excerpt}` : "";
  return `${where}${path}: ${issue.message}${excerpt}`;
}

/** Base class of every runbook loading error. */
export class RunbookError extends Error {
  override name = "RunbookError";
  readonly source: string;
  readonly issues: readonly RunbookIssue[];

  constructor(
    source: string,
    summary: string,
    issues: readonly RunbookIssue[],
    options?: { cause?: unknown },
  ) {
    const details = issues.map((i) => formatIssue(source, i)).join("\n");
    super(details ? `${summary}\n${details}` : summary, options);
    this.source = source;
    this.issues = issues;
  }
}

/** The text is not valid YAML (bad indentation, duplicate key, unclosed quote...). */
export class RunbookSyntaxError extends RunbookError {
  override name = "RunbookSyntaxError";
}

/** The YAML does not have the runbook's structure (wrong op, unknown class id, missing key...). */
export class RunbookSchemaError extends RunbookError {
  override name = "RunbookSchemaError";
}

/** The structure is right but a reference does not resolve (unknown `$threshold`, metric type, duplicate id...). */
export class RunbookReferenceError extends RunbookError {
  override name = "RunbookReferenceError";
}
