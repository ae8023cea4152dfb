// Lexical building blocks of RFC 3261 §25.1 shared by the header and URI parsers.
// Everything scans by index over a string: no RegExp runs over message text, so no
// backtracking and nothing retained in RegExp.input.

const TOKEN_SYMBOLS = '-.!%*_+`\'~';

/** A lookup table of allowed ASCII codes: alphanumerics (when asked) plus `extra`. */
export function charTable(extra: string, alnum: boolean): Uint8Array {
  const table = new Uint8Array(128);
  if (alnum) {
    for (let c = 48; c <= 57; c++) table[c] = 1;
    for (let c = 65; c <= 90; c++) table[c] = 1;
    for (let c = 97; c <= 122; c++) table[c] = 1;
  }
  for (const ch of extra) table[ch.charCodeAt(0)] = 1;
  return table;
}

/** token (§25.1). */
const TOKEN = charTable(TOKEN_SYMBOLS, true);

export function isToken(text: string): boolean {
  if (text.length === 0) return false;
  return tokenEnd(text, 0) === text.length;
}

/** word (§25.1), used by Call-ID. */
const WORD = charTable(TOKEN_SYMBOLS + '()<>:\\"/[]?{}', true);
export function isWord(text: string): boolean {
  if (text.length === 0) return false;
  return scanTable(text, 0, WORD) === text.length;
}

export const isSpaceOrTab = (code: number): boolean => code === 0x20 || code === 0x09;
export const isDigit = (code: number): boolean => code >= 0x30 && code <= 0x39;

export function isDigits(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) if (!isDigit(text.charCodeAt(i))) return false;
  return true;
}

export function skipSpace(text: string, index: number): number {
  while (index < text.length && isSpaceOrTab(text.charCodeAt(index))) index++;
  return index;
}

/** Trims SP and HTAB only: String.prototype.trim would also eat a BOM or NBSP that belongs to the value. */
export function trimSpace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isSpaceOrTab(text.charCodeAt(start))) start++;
  while (end > start && isSpaceOrTab(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/**
 * Index just past the closing DQUOTE of a quoted-string that opens at `index`, or -1 when
 * it is unterminated or holds a quoted-pair of CR/LF (§25.1 quoted-pair excludes them).
 */
export function quotedStringEnd(text: string, index: number): number {
  for (let i = index + 1; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x22) return i + 1;
    if (code === 0x5c) {
      const next = text.charCodeAt(i + 1);
      if (Number.isNaN(next) || next === 0x0a || next === 0x0d) return -1;
      i++;
    }
  }
  return -1;
}

/** The text of a quoted-string with its DQUOTEs removed and quoted-pairs resolved. */
export function unquote(quoted: string): string {
  const inner = quoted.slice(1, -1);
  if (!inner.includes('\\')) return inner;
  let out = '';
  for (let i = 0; i < inner.length; i++) {
    if (inner.charCodeAt(i) === 0x5c && i + 1 < inner.length) i++;
    out += inner[i];
  }
  return out;
}

/**
 * Index of the next top-level `separator` at or after `from` (or text.length), skipping
 * quoted strings and <...> (§7.3.1). An unterminated quote or bracket runs to the end, for
 * validation to reject. Callers walk lists with it and can stop at the first bad element.
 */
export function topLevelEnd(text: string, from: number, separator: number): number {
  for (let i = from; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === separator) return i;
    if (code === 0x22) {
      const end = quotedStringEnd(text, i);
      if (end < 0) return text.length;
      i = end - 1;
    } else if (code === 0x3c) {
      const close = text.indexOf('>', i + 1);
      if (close < 0) return text.length;
      i = close;
    }
  }
  return text.length;
}

/**
 * Splits a header value at top-level commas (§7.3.1), ignoring commas inside quoted strings
 * and <...>. Elements are trimmed; empty elements are kept so validation can reject them.
 */
export function splitTopLevel(text: string, separator: number): string[] {
  const parts: string[] = [];
  let start = 0;
  for (;;) {
    const end = topLevelEnd(text, start, separator);
    parts.push(trimSpace(text.slice(start, end)));
    if (end >= text.length) return parts;
    start = end + 1;
  }
}

/** Index after the run of chars in `table` starting at `index`. */
export function scanTable(text: string, index: number, table: Uint8Array): number {
  while (index < text.length) {
    const code = text.charCodeAt(index);
    if (code >= 128 || table[code] !== 1) break;
    index++;
  }
  return index;
}

/** Index after a run of token chars (§25.1 token) from `index`. */
export const tokenEnd = (text: string, index: number): number => scanTable(text, index, TOKEN);

/** Index after a run of tokens and SP/HTAB, the unquoted display-name form (§25.1). */
const TOKEN_OR_SPACE = charTable(TOKEN_SYMBOLS + ' \t', true);
export const tokensAndSpaceEnd = (text: string, index: number): number => scanTable(text, index, TOKEN_OR_SPACE);

/** generic-param values in a parameter map: `null` when the parameter has no `=value`. */
export type ParamMap = Map<string, string | null>;

/** gen-value = token / host / quoted-string (§25.1): token chars plus the host delimiters. */
const GEN_VALUE_CHARS = charTable(TOKEN_SYMBOLS + ':[]', true);

/**
 * Parses `*( SEMI generic-param )` (§25.1) from `index` to the end: names lower-cased
 * (§7.3.1: parameter names are case-insensitive), values as written (quoted-strings keep
 * their quotes). Returns undefined on an empty or malformed parameter.
 */
export function parseParams(text: string, index: number): ParamMap | undefined {
  const params: ParamMap = new Map();
  let i = skipSpace(text, index);
  while (i < text.length) {
    if (text.charCodeAt(i) !== 0x3b) return undefined;
    i = skipSpace(text, i + 1);
    const nameStart = i;
    i = tokenEnd(text, i);
    if (i === nameStart) return undefined;
    const name = text.slice(nameStart, i).toLowerCase();
    i = skipSpace(text, i);
    let value: string | null = null;
    if (text.charCodeAt(i) === 0x3d) {
      i = skipSpace(text, i + 1);
      const valueStart = i;
      if (text.charCodeAt(i) === 0x22) {
        const end = quotedStringEnd(text, i);
        if (end < 0) return undefined;
        i = end;
      } else {
        i = scanTable(text, i, GEN_VALUE_CHARS);
        if (i === valueStart) return undefined;
      }
      value = text.slice(valueStart, i);
      i = skipSpace(text, i);
    }
    params.set(name, value);
  }
  return params;
}

