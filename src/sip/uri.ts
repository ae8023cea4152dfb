// SIP and SIPS URIs (RFC 3261 §19.1, grammar §25.1) with IPv6 references (RFC 5118).
// Components are %-unescaped exactly once (§19.1.2; RFC 4475 §3.1.1.3: "value%25%34%31"
// is "value%41", never "valueA"); an escaped %00 stays in the string (RFC 4475 §3.1.1.4).
import { isIPv4, isIPv6 } from 'node:net';
import { isUtf8 } from 'node:buffer';
import { charTable, isDigits, scanTable } from './syntax.ts';

export interface SipUri {
  readonly scheme: 'sip' | 'sips';
  /** Unescaped user part, e.g. the dialled number; absent when the URI has no userinfo. */
  readonly user?: string;
  readonly password?: string;
  /** Lower-cased host; an IPv6 reference keeps its brackets (RFC 5118 §4.1). */
  readonly host: string;
  readonly port?: number;
  /** uri-parameters (§19.1.1): names lower-cased, names and values unescaped, null when valueless. */
  readonly params: Map<string, string | null>;
  /** headers (§19.1.1), unescaped, in order. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

const UNRESERVED = "-_.!~*'()";
const USER = charTable(UNRESERVED + '&=+$,;?/%', true);
const PASSWORD = charTable(UNRESERVED + '&=+$,%', true);
const PARAM = charTable(UNRESERVED + '[]/:&+$%', true);
const HEADER = charTable(UNRESERVED + '[]/?:+$%', true);
const HOSTNAME = charTable('-.', true);
/** uric of RFC 2396 (absoluteURI, used by other schemes): reserved + unreserved + escaped. */
const URIC = charTable(UNRESERVED + ';/?:@&=+$,%', true);
const SCHEME = charTable('+-.', true);

const isHex = (code: number): boolean =>
  (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x46) || (code >= 0x61 && code <= 0x66);

/** True when every char is in the set and each `%` starts a valid escape (§25.1 escaped). */
function allIn(text: string, table: Uint8Array): boolean {
  if (scanTable(text, 0, table) !== text.length) return false;
  for (let percent = text.indexOf('%'); percent >= 0; percent = text.indexOf('%', percent + 1)) {
    if (!(isHex(text.charCodeAt(percent + 1)) && isHex(text.charCodeAt(percent + 2)))) return false;
  }
  return true;
}

/** Resolves %HH escapes once; the bytes are read as UTF-8 when valid, else octet by octet. */
export function unescapeUri(text: string): string {
  if (!text.includes('%')) return text;
  const bytes = Buffer.alloc(text.length);
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x25 && isHex(text.charCodeAt(i + 1)) && isHex(text.charCodeAt(i + 2))) {
      bytes[length++] = Number.parseInt(text.slice(i + 1, i + 3), 16);
      i += 2;
    } else {
      bytes[length++] = code & 0xff;
    }
  }
  const decoded = bytes.subarray(0, length);
  return decoded.toString(isUtf8(decoded) ? 'utf8' : 'latin1');
}

/** The lower-cased scheme of `scheme ":" ...` (§25.1), or undefined when there is none. */
export function uriScheme(text: string): string | undefined {
  const colon = text.indexOf(':');
  if (colon <= 0) return undefined;
  const first = text.charCodeAt(0) | 0x20;
  if (first < 0x61 || first > 0x7a) return undefined;
  if (scanTable(text, 1, SCHEME) < colon) return undefined;
  return text.slice(0, colon).toLowerCase();
}

/** Well-formed absoluteURI of any scheme (§25.1): SIP/SIPS by their full grammar, others by RFC 2396 characters. */
export function isWellFormedUri(text: string): boolean {
  const scheme = uriScheme(text);
  if (scheme === undefined) return false;
  if (scheme === 'sip' || scheme === 'sips') return parseSipUri(text) !== undefined;
  const rest = text.slice(scheme.length + 1);
  return rest.length > 0 && allIn(rest, URIC);
}

/**
 * host = hostname / IPv4address / IPv6reference (§25.1). Tolerates the three-colon form
 * that RFC 3261's IPv6 ABNF wrongly allowed, normalised to two colons (RFC 5118 §4.10).
 */
function parseHost(text: string): string | undefined {
  if (text.startsWith('[')) {
    if (!text.endsWith(']')) return undefined;
    const address = text.slice(1, -1);
    if (isIPv6(address)) return text.toLowerCase();
    const repaired = address.replace(':::', '::');
    return repaired !== address && isIPv6(repaired) ? `[${repaired.toLowerCase()}]` : undefined;
  }
  if (text.length === 0 || scanTable(text, 0, HOSTNAME) !== text.length || text.startsWith('.') || text.startsWith('-')) return undefined;
  // A toplabel starts with a letter (§25.1), so a host whose last label is all digits must be an IPv4address.
  const end = text.endsWith('.') ? text.length - 1 : text.length;
  const lastLabel = text.slice(text.lastIndexOf('.', end - 1) + 1, end);
  if (isDigits(lastLabel) && !isIPv4(text)) return undefined;
  return text.toLowerCase();
}

export function parsePort(text: string): number | undefined {
  if (!isDigits(text) || text.length > 5) return undefined;
  const port = Number(text);
  return port <= 65535 ? port : undefined;
}

/** hostport (§25.1) with no surrounding text; undefined when malformed. */
export function parseHostPort(text: string): { host: string; port?: number } | undefined {
  let hostText = text;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return undefined;
    hostText = text.slice(0, close + 1);
    if (close + 1 < text.length) {
      if (text.charCodeAt(close + 1) !== 0x3a) return undefined;
      portText = text.slice(close + 2);
    }
  } else {
    const colon = text.indexOf(':');
    if (colon >= 0) {
      hostText = text.slice(0, colon);
      portText = text.slice(colon + 1);
    }
  }
  const host = parseHost(hostText);
  if (host === undefined) return undefined;
  if (portText === undefined) return { host };
  const port = parsePort(portText);
  return port === undefined ? undefined : { host, port };
}

/** Parses a sip: or sips: URI (§19.1.1); undefined when it is not one or is malformed. */
export function parseSipUri(text: string): SipUri | undefined {
  const scheme = uriScheme(text);
  if (scheme !== 'sip' && scheme !== 'sips') return undefined;
  let rest = text.slice(scheme.length + 1);

  // userinfo ends at the only '@': no later component may hold an unescaped '@' (§25.1).
  let user: string | undefined;
  let password: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    const colon = userinfo.indexOf(':');
    const userText = colon >= 0 ? userinfo.slice(0, colon) : userinfo;
    if (userText.length === 0 || !allIn(userText, USER)) return undefined;
    user = unescapeUri(userText);
    if (colon >= 0) {
      const passwordText = userinfo.slice(colon + 1);
      if (!allIn(passwordText, PASSWORD)) return undefined;
      password = unescapeUri(passwordText);
    }
    rest = rest.slice(at + 1);
  }

  const question = rest.indexOf('?');
  const beforeHeaders = question >= 0 ? rest.slice(0, question) : rest;
  const semicolon = beforeHeaders.indexOf(';');
  const hostPort = parseHostPort(semicolon >= 0 ? beforeHeaders.slice(0, semicolon) : beforeHeaders);
  if (hostPort === undefined) return undefined;

  const params = new Map<string, string | null>();
  if (semicolon >= 0) {
    for (const param of beforeHeaders.slice(semicolon + 1).split(';')) {
      const equals = param.indexOf('=');
      const name = equals >= 0 ? param.slice(0, equals) : param;
      const value = equals >= 0 ? param.slice(equals + 1) : null;
      if (name.length === 0 || !allIn(name, PARAM)) return undefined;
      if (value !== null && (value.length === 0 || !allIn(value, PARAM))) return undefined;
      params.set(unescapeUri(name).toLowerCase(), value === null ? null : unescapeUri(value));
    }
  }

  const headers: Array<readonly [string, string]> = [];
  if (question >= 0) {
    for (const header of rest.slice(question + 1).split('&')) {
      const equals = header.indexOf('=');
      if (equals <= 0) return undefined;
      const name = header.slice(0, equals);
      const value = header.slice(equals + 1);
      if (!allIn(name, HEADER) || !allIn(value, HEADER)) return undefined;
      headers.push([unescapeUri(name), unescapeUri(value)]);
    }
  }

  const uri: { -readonly [K in keyof SipUri]: SipUri[K] } = { scheme, host: hostPort.host, params, headers };
  if (user !== undefined) uri.user = user;
  if (password !== undefined) uri.password = password;
  if (hostPort.port !== undefined) uri.port = hostPort.port;
  return uri;
}

/** The unescaped user part of a SIP/SIPS URI (the dialled number when routing, §19.1.1). */
export function userPart(uri: string): string | undefined {
  return parseSipUri(uri)?.user;
}
