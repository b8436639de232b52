import { FsError } from '../../../core/errors.js';

/** One whitespace-separated term of a query, quotes resolved. */
export interface Token {
  /** 1-based column of the term's first character (what error messages cite). */
  at: number;
  /** The term as written, quotes included. */
  raw: string;
  /** Index in `raw` of the first `"`, or raw.length when unquoted: a field prefix must end before it. */
  firstQuote: number;
  /** True when the term contains a quoted part (a quoted `"OR"` is a word, not the operator). */
  quoted: boolean;
}

/**
 * Splits a query into terms at unquoted whitespace. A `"..."` part may hold
 * spaces, `\"` and `\\`. An unterminated quote is FsError EINVAL citing
 * its column.
 */
export function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < query.length) {
    if (/\s/.test(query[i]!)) {
      i++;
      continue;
    }
    const start = i;
    let firstQuote = -1;
    while (i < query.length && !/\s/.test(query[i]!)) {
      if (query[i] !== '"') {
        i++;
        continue;
      }
      if (firstQuote < 0) firstQuote = i - start;
      i = closingQuote(query, i) + 1;
    }
    const raw = query.slice(start, i);
    tokens.push({ at: start + 1, raw, firstQuote: firstQuote < 0 ? raw.length : firstQuote, quoted: firstQuote >= 0 });
  }
  return tokens;
}

/** Index of the `"` closing the one at `open`. */
function closingQuote(query: string, open: number): number {
  for (let i = open + 1; i < query.length; i++) {
    if (query[i] === '\\') i++;
    else if (query[i] === '"') return i;
  }
  throw new FsError('EINVAL', `unterminated quote at ${open + 1} in search query '${query}'`, { op: 'search' });
}

/** `text` with its `"..."` parts unquoted (`\"` and `\\` inside them unescaped). */
export function unquote(text: string): string {
  let out = '';
  let inQuote = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char === '"') inQuote = !inQuote;
    else if (inQuote && char === '\\' && i + 1 < text.length) out += text[++i];
    else out += char;
  }
  return out;
}
