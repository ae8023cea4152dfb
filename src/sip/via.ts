// The Via header value (RFC 3261 §20.42, grammar §25.1; received/rport per RFC 3581, IPv6 per RFC 5118 §4.5).
import { isDigit, isSpaceOrTab, parseParams, skipSpace, tokenEnd, type ParamMap } from './syntax.ts';
import { parseHostPort, parsePort } from './uri.ts';

export interface Via {
  /** protocol-name "/" protocol-version, upper-cased (e.g. "SIP/2.0"). */
  readonly protocol: string;
  /** Upper-cased transport (UDP, TCP, TLS, SCTP, WS, or any token: RFC 4475 §3.1.1.10). */
  readonly transport: string;
  /** sent-by host, lower-cased; IPv6 keeps its brackets. */
  readonly host: string;
  readonly port?: number;
  /** All via-params: names lower-cased, values as written, null when valueless. */
  readonly params: ParamMap;
  readonly branch?: string;
  readonly received?: string;
  /** RFC 3581 §4: `true` when present without a value (a request asking for it). */
  readonly rport?: number | true;
}

/** Reads SWS "/" SWS (§25.1 SLASH); returns the index after it or -1. */
function readSlash(text: string, index: number): number {
  const at = skipSpace(text, index);
  return text.charCodeAt(at) === 0x2f ? skipSpace(text, at + 1) : -1;
}

/** Parses one via-parm (one element of a Via list); undefined when malformed. */
export function parseVia(value: string): Via | undefined {
  let i = skipSpace(value, 0);
  const nameEnd = tokenEnd(value, i);
  if (nameEnd === i) return undefined;
  const name = value.slice(i, nameEnd);
  i = readSlash(value, nameEnd);
  if (i < 0) return undefined;
  const versionEnd = tokenEnd(value, i);
  if (versionEnd === i) return undefined;
  const version = value.slice(i, versionEnd);
  i = readSlash(value, versionEnd);
  if (i < 0) return undefined;
  const transportEnd = tokenEnd(value, i);
  if (transportEnd === i) return undefined;
  const transport = value.slice(i, transportEnd).toUpperCase();

  // sent-protocol LWS sent-by: at least one whitespace, then host [ COLON port ].
  if (!isSpaceOrTab(value.charCodeAt(transportEnd))) return undefined;
  i = skipSpace(value, transportEnd);
  const hostStart = i;
  if (value.charCodeAt(i) === 0x5b) {
    const close = value.indexOf(']', i);
    if (close < 0) return undefined;
    i = close + 1;
  } else {
    i = tokenEnd(value, i);
  }
  const hostText = value.slice(hostStart, i);
  let portText: string | undefined;
  i = skipSpace(value, i);
  if (value.charCodeAt(i) === 0x3a) {
    i = skipSpace(value, i + 1);
    const portStart = i;
    while (i < value.length && isDigit(value.charCodeAt(i))) i++;
    portText = value.slice(portStart, i);
  }
  const sentBy = parseHostPort(portText === undefined ? hostText : `${hostText}:${portText}`);
  if (sentBy === undefined) return undefined;

  const params = parseParams(value, i);
  if (params === undefined) return undefined;

  const via: { -readonly [K in keyof Via]: Via[K] } = {
    protocol: `${name}/${version}`.toUpperCase(),
    transport,
    host: sentBy.host,
    params,
  };
  if (sentBy.port !== undefined) via.port = sentBy.port;
  const branch = params.get('branch');
  if (branch === null) return undefined;
  if (branch !== undefined) via.branch = branch;
  const received = params.get('received');
  if (received === null) return undefined;
  if (received !== undefined) via.received = received;
  if (params.has('rport')) {
    const rport = params.get('rport');
    if (rport === null || rport === undefined) {
      via.rport = true;
    } else {
      const port = parsePort(rport);
      if (port === undefined) return undefined;
      via.rport = port;
    }
  }
  return via;
}
