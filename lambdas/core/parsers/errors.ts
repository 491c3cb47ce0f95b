/**
 * Parse errors for every parser in lambdas/core/parsers. Parsers never throw on bad input:
 * they return a `ParseResult`, and a failure says which parser, which line (1-based; 0 = the
 * document as a whole), what was expected there, and a short excerpt of what was found.
 */
export interface ParseErrorDetails {
  readonly parser: string;
  /** 1-based line number in the parser's input; 0 when the problem is not tied to one line. */
  readonly line: number;
  readonly expected: string;
  /** A short piece of the input at that line (at most 120 characters). */
  readonly excerpt: string;
}

export class ParseError extends Error {
  override readonly name = "ParseError";
  readonly parser: string;
  readonly line: number;
  readonly expected: string;
  readonly excerpt: string;

  constructor(details: ParseErrorDetails, options?: { cause?: unknown }) {
    const excerpt = cut(details.excerpt, 120);
    super(
      `${details.parser}: line ${details.line}: expected ${details.expected}, found ${excerpt === "" ? "nothing" : JSON.stringify(excerpt)}`,
      options,
    );
    this.parser = details.parser;
    this.line = details.line;
    this.expected = details.expected;
    this.excerpt = excerpt;
  }
}

export type ParseResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: ParseError };

export const parsed = <T>(value: T): ParseResult<T> => ({ ok: true, value });

export function parseFailure<T = never>(
  parser: string,
  line: number,
  expected: string,
  excerpt: string,
  cause?: unknown,
): ParseResult<T> {
  return {
    ok: false,
    error: new ParseError({ parser, line, expected, excerpt }, cause === undefined ? undefined : { cause }),
  };
}

export function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Splits text into lines; a final newline does not make an extra empty line (like `wc -l`). */
export function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines.map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
}
