// ( name-addr / addr-spec ) *( SEMI param ): the value of From, To, Contact, Route,
// Record-Route, Reply-To, Refer-To (RFC 3261 §20.10, §20.20, §20.39, grammar §25.1).
import { parseParams, quotedStringEnd, skipSpace, tokensAndSpaceEnd, trimSpace, unquote, type ParamMap } from './syntax.ts';
import { isWellFormedUri } from './uri.ts';

export interface NameAddr {
  /** Display name, unquoted with quoted-pairs resolved; absent when none was given. */
  readonly displayName?: string;
  /** The URI as written (still escaped); parse it with parseSipUri. */
  readonly uri: string;
  /** True when the URI was enclosed in <...> (name-addr form). */
  readonly bracketed: boolean;
  /** Header parameters (after the URI): names lower-cased, values as written, null when valueless. */
  readonly params: ParamMap;
  /** The `tag` parameter (§19.3), when present with a value. */
  readonly tag?: string;
}

/** Parses one element of the header value; undefined when malformed. */
export function parseNameAddr(value: string): NameAddr | undefined {
  let i = skipSpace(value, 0);
  let displayName: string | undefined;
  let uri: string;
  let paramsStart: number;
  let bracketed = true;

  if (value.charCodeAt(i) === 0x22) {
    // display-name as quoted-string, then LAQUOT (§25.1).
    const end = quotedStringEnd(value, i);
    if (end < 0) return undefined;
    displayName = unquote(value.slice(i, end));
    i = skipSpace(value, end);
    if (value.charCodeAt(i) !== 0x3c) return undefined;
  } else {
    // display-name as *(token LWS), possibly with no LWS before '<' (RFC 4475 §3.1.1.6).
    const j = tokensAndSpaceEnd(value, i);
    if (value.charCodeAt(j) === 0x3c) {
      const tokens = trimSpace(value.slice(i, j));
      if (tokens.length > 0) displayName = tokens;
      i = j;
    } else {
      bracketed = false;
    }
  }

  if (bracketed) {
    const close = value.indexOf('>', i + 1);
    if (close < 0) return undefined;
    uri = value.slice(i + 1, close);
    paramsStart = close + 1;
  } else {
    // addr-spec: its parameters belong to the header, so the URI ends at the first ';'
    // and may not contain ',' or '?' (§20.10).
    const semicolon = value.indexOf(';', i);
    paramsStart = semicolon >= 0 ? semicolon : value.length;
    uri = trimSpace(value.slice(i, paramsStart));
    if (uri.includes(',') || uri.includes('?')) return undefined;
  }
  if (!isWellFormedUri(uri)) return undefined;

  const params = parseParams(value, paramsStart);
  if (params === undefined) return undefined;
  const nameAddr: { -readonly [K in keyof NameAddr]: NameAddr[K] } = { uri, bracketed, params };
  if (displayName !== undefined) nameAddr.displayName = displayName;
  const tag = params.get('tag');
  if (typeof tag === 'string') nameAddr.tag = tag;
  return nameAddr;
}
