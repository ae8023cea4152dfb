// Parses one SIP message from bytes (RFC 3261 §7, §20, §25) with datagram framing (§18.3).
// Never throws: every input ends in a message or a coded error saying whether a 400/505
// can be sent (§8.2, §18.3) or the bytes must be dropped. Scans by index, no RegExp.
import { isUtf8 } from 'node:buffer';
import type { HeaderField, SipMessage, SipRequest } from './message.ts';
import type { ParseResult, SipParseError, SipParseErrorCode } from './parse-error.ts';
import { DEFAULT_SIP_LIMITS, type SipLimits } from './limits.ts';
import { canonicalHeaderName } from './header-names.ts';
import { isToken, isWord, topLevelEnd, trimSpace } from './syntax.ts';
import { parseBoundedInteger, parseContentLength, parseCSeq } from './headers.ts';
import { parseVia } from './via.ts';
import { parseNameAddr } from './name-addr.ts';
import { isWellFormedUri, parseSipUri, uriScheme } from './uri.ts';

const HEADER_SECTION_END = Buffer.from('\r\n\r\n', 'latin1');

/** Headers that may appear once only (§20: single-valued); a second copy is a 400 (RFC 4475 §3.3.8). */
const SINGULAR_HEADERS = ['Call-ID', 'From', 'To', 'CSeq', 'Max-Forwards', 'Content-Length'];
/** Headers every request and response carries (§8.1.1); Max-Forwards is left out for RFC 2543 peers (RFC 4475 §3.4.1). */
const MANDATORY_HEADERS = ['Via', 'From', 'To', 'Call-ID', 'CSeq'];
/** Address headers whose values must parse as name-addr / addr-spec (§20.10, §20.20, §20.30, §20.34, §20.39). */
const ADDRESS_HEADERS = new Set(['From', 'To', 'Contact', 'Route', 'Record-Route']);

interface Problem {
  readonly code: SipParseErrorCode;
  readonly reason: string;
  readonly status?: 505;
}

interface StartLine {
  readonly kind: 'request' | 'response';
  readonly method: string;
  readonly uri: string;
  readonly status: number;
  readonly reason: string;
  readonly problem?: Problem;
}

/**
 * How the bytes were framed (§18.3): a UDP datagram may omit Content-Length (the body is the
 * rest of it); a message cut from a TCP/TLS stream must carry it.
 */
export type SipFraming = 'datagram' | 'stream';

/**
 * Parses one UDP datagram, or one message a StreamFramer has cut (pass 'stream', also for a
 * framing error's headerSection, so a missing Content-Length is answered with 400).
 */
export function parseMessage(bytes: Buffer, limits: SipLimits = DEFAULT_SIP_LIMITS, framing: SipFraming = 'datagram'): ParseResult {
  try {
    return parse(bytes, limits, framing);
  } catch {
    // Defence in depth only: the fuzz tests assert this code never appears.
    return { ok: false, error: { code: 'INTERNAL', reason: 'Unparseable message', canRespond: false } };
  }
}

function drop(code: SipParseErrorCode, reason: string): ParseResult {
  return { ok: false, error: { code, reason, canRespond: false } };
}

function parse(bytes: Buffer, limits: SipLimits, framing: SipFraming): ParseResult {
  if (bytes.length > limits.maxMessageBytes) return drop('MESSAGE_TOO_LARGE', 'Message Too Large');

  // §7.5: CRLFs before the start line are ignored (also keep-alives, RFC 5626 §3.5.1).
  let start = 0;
  while (start + 1 < bytes.length && bytes[start] === 0x0d && bytes[start + 1] === 0x0a) start += 2;
  if (start >= bytes.length) return drop('EMPTY', 'Empty Message');
  const headerEnd = bytes.indexOf(HEADER_SECTION_END, start);
  if (headerEnd < 0) return drop('INCOMPLETE_HEADERS', 'Incomplete Header Section');

  // Header text is UTF-8 (§7.3.1 TEXT-UTF8); invalid UTF-8 is read octet by octet so no byte is lost.
  const head = bytes.subarray(start, headerEnd);
  const text = head.toString(isUtf8(head) ? 'utf8' : 'latin1');
  const firstLineEnd = text.indexOf('\r\n');
  const startLineText = firstLineEnd < 0 ? text : text.slice(0, firstLineEnd);
  // CR and LF appear only as CRLF line ends (§7.1, §7.2; quoted-pair excludes them, §25.1).
  const parsedLine = parseStartLine(startLineText);
  const startLine = firstBareLineBreak(startLineText, 0) < startLineText.length
    ? { ...parsedLine, uri: '', reason: '', problem: BARE_LINE_BREAK }
    : parsedLine;

  const headers: HeaderField[] = [];
  const headersFrom = firstLineEnd < 0 ? text.length : firstLineEnd + 2;
  const structural = readHeaderFields(text, headersFrom, firstBareLineBreak(text, headersFrom), headers, limits);
  const problem = structural ?? startLine.problem ?? validateHeaders(startLine, headers, limits);

  let body: Buffer | undefined;
  let bodyProblem: Problem | undefined;
  if (problem === undefined) {
    const available = bytes.length - (headerEnd + 4);
    const declared = headers.find((field) => field.name === 'Content-Length');
    const length = declared === undefined ? available : parseContentLength(declared.value);
    if (declared === undefined && framing === 'stream') {
      bodyProblem = { code: 'BAD_CONTENT_LENGTH', reason: 'Missing Content-Length' };
    } else if (length === undefined) {
      bodyProblem = { code: 'BAD_CONTENT_LENGTH', reason: 'Bad Content-Length' };
    } else if (length > available) {
      // §18.3: a datagram shorter than Content-Length is rejected (RFC 4475 §3.1.2.2).
      bodyProblem = { code: 'BAD_CONTENT_LENGTH', reason: 'Content-Length Exceeds Message' };
    } else {
      // §18.3: octets past Content-Length are discarded (RFC 4475 §3.1.1.8).
      body = copyBytes(bytes, headerEnd + 4, length);
    }
  }

  const failure = problem ?? bodyProblem;
  if (failure === undefined && body !== undefined) return { ok: true, message: buildMessage(startLine, headers, body) };
  return { ok: false, error: describeFailure(failure ?? { code: 'INTERNAL', reason: 'Unparseable message' }, startLine, headers) };
}

/** A copy outside Buffer's shared pool, so a body (INFO can carry DTMF) never lingers in pooled memory. */
function copyBytes(bytes: Buffer, offset: number, length: number): Buffer {
  const copy = Buffer.alloc(length);
  bytes.copy(copy, 0, offset, offset + length);
  return copy;
}

function buildMessage(startLine: StartLine, headers: HeaderField[], body: Buffer): SipMessage {
  return startLine.kind === 'request'
    ? { kind: 'request', method: startLine.method, uri: startLine.uri, headers, body }
    : { kind: 'response', status: startLine.status, reason: startLine.reason, headers, body };
}

/** §8.2 / §18.3: a request with a Via can be answered (with what it has); responses are dropped. */
function describeFailure(problem: Problem, startLine: StartLine, headers: HeaderField[]): SipParseError {
  const answerable = startLine.kind === 'request' && headers.some((field) => field.name === 'Via');
  if (!answerable) return { code: problem.code, reason: problem.reason, canRespond: false };
  // The method tells the caller not to answer an ACK (§17.2.1); from CSeq when the Request-Line is unreadable.
  const cseqField = headers.find((field) => field.name === 'CSeq');
  const method = isToken(startLine.method) ? startLine.method : (cseqField && parseCSeq(cseqField.value)?.method) ?? '';
  const partial: SipRequest = {
    kind: 'request',
    method,
    uri: startLine.uri,
    headers,
    body: Buffer.alloc(0),
  };
  return { code: problem.code, reason: problem.reason, canRespond: true, status: problem.status ?? 400, partial };
}

/** Index of the first CR or LF at or after `from` that is not part of a CRLF, or text.length. */
function firstBareLineBreak(text: string, from: number): number {
  let first = text.length;
  for (let i = text.indexOf('\n', from); i >= 0 && i < first; i = text.indexOf('\n', i + 1)) {
    if (text.charCodeAt(i - 1) !== 0x0d) first = i;
  }
  for (let i = text.indexOf('\r', from); i >= 0 && i < first; i = text.indexOf('\r', i + 1)) {
    if (text.charCodeAt(i + 1) !== 0x0a) first = i;
  }
  return first;
}

/**
 * Reads header fields into `headers`, unfolding continuation lines (§7.3.1) and mapping
 * compact forms to canonical names (§7.3.3). Returns a structural problem, if any; the
 * fields read before it (or before the line holding `bareBreak`) are kept so a 400 can
 * still copy them. Works on indexes so folding costs no slice per line.
 */
function readHeaderFields(text: string, from: number, bareBreak: number, headers: HeaderField[], limits: SipLimits): Problem | undefined {
  let name: string | undefined;
  let value = '';
  let position = from;
  const flush = (): Problem | undefined => {
    if (name === undefined) return undefined;
    if (headers.length >= limits.maxHeaderFields) return { code: 'TOO_MANY_HEADERS', reason: 'Too Many Header Fields' };
    headers.push({ name, value });
    name = undefined;
    return undefined;
  };
  while (position < text.length) {
    let lineEnd = text.indexOf('\r\n', position);
    if (lineEnd < 0) lineEnd = text.length;
    if (lineEnd > bareBreak) return flush() ?? BARE_LINE_BREAK;
    const lead = text.charCodeAt(position);
    if (lead === 0x20 || lead === 0x09) {
      if (name === undefined) return { code: 'BAD_HEADER', reason: 'Continuation Line Without Header' };
      let start = position;
      let end = lineEnd;
      while (start < end && (text.charCodeAt(start) === 0x20 || text.charCodeAt(start) === 0x09)) start++;
      while (end > start && (text.charCodeAt(end - 1) === 0x20 || text.charCodeAt(end - 1) === 0x09)) end--;
      if (end > start) value = value.length > 0 ? `${value} ${text.slice(start, end)}` : text.slice(start, end);
      position = lineEnd + 2;
      continue;
    }
    const line = text.slice(position, lineEnd);
    position = lineEnd + 2;
    const flushed = flush();
    if (flushed !== undefined) return flushed;
    const colon = line.indexOf(':');
    const rawName = colon > 0 ? trimSpace(line.slice(0, colon)) : '';
    if (!isToken(rawName)) return { code: 'BAD_HEADER', reason: 'Malformed Header Field' };
    name = canonicalHeaderName(rawName);
    value = trimSpace(line.slice(colon + 1));
  }
  return flush();
}

const BARE_LINE_BREAK: Problem = { code: 'BAD_LINE_ENDING', reason: 'Bare CR or LF' };

const SIP_VERSION = 'SIP/2.0';

/** SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT (§25.1; "SIP" is case-insensitive). */
function isSipVersionShape(text: string): boolean {
  if (text.length < 7 || text.slice(0, 4).toUpperCase() !== 'SIP/') return false;
  const dot = text.indexOf('.', 4);
  return dot > 4 && dot < text.length - 1 && parseBoundedInteger(text.slice(4, dot), 999) !== undefined &&
    parseBoundedInteger(text.slice(dot + 1), 999) !== undefined;
}

function isSupportedVersion(text: string): boolean {
  return text.length === SIP_VERSION.length && text.toUpperCase() === SIP_VERSION;
}

/** Request-Line (§7.1) or Status-Line (§7.2): single SPs, no trailing whitespace (RFC 4475 §3.1.2.9, §3.1.2.10). */
function parseStartLine(line: string): StartLine {
  const firstSpace = line.indexOf(' ');
  const first = firstSpace < 0 ? line : line.slice(0, firstSpace);
  if (isSipVersionShape(first)) {
    const base = { kind: 'response' as const, method: '', uri: '', status: 0, reason: '' };
    if (!isSupportedVersion(first)) return { ...base, problem: { code: 'BAD_VERSION', reason: 'Version Not Supported' } };
    // Status-Code is exactly 3DIGIT (§25.1); 100-699 (§21); RFC 4475 §3.1.2.19.
    const code = line.slice(firstSpace + 1, firstSpace + 4);
    const after = line.charCodeAt(firstSpace + 4);
    const status = parseBoundedInteger(code, 699);
    if (firstSpace < 0 || code.length !== 3 || status === undefined || status < 100 || !(Number.isNaN(after) || after === 0x20)) {
      return { ...base, problem: { code: 'BAD_STATUS_CODE', reason: 'Bad Status Code' } };
    }
    return { ...base, status, reason: line.slice(firstSpace + 5) };
  }

  const lastSpace = line.lastIndexOf(' ');
  const method = first;
  const uri = lastSpace > firstSpace ? line.slice(firstSpace + 1, lastSpace) : '';
  const version = lastSpace > firstSpace ? line.slice(lastSpace + 1) : '';
  const base = { kind: 'request' as const, method, uri, status: 0, reason: '' };
  if (!isToken(method) || uri.length === 0 || uri.includes(' ') || uri.includes('\t') || !isSipVersionShape(version)) {
    return { ...base, problem: { code: 'BAD_START_LINE', reason: 'Malformed Request-Line' } };
  }
  // §21.5.20: a request in another SIP version gets 505 (RFC 4475 §3.1.2.16).
  if (!isSupportedVersion(version)) return { ...base, problem: { code: 'BAD_VERSION', reason: 'Version Not Supported', status: 505 } };
  const problem = uriProblem(uri);
  return problem === undefined ? base : { ...base, problem };
}

/**
 * The Request-URI is an absoluteURI without <> or LWS (RFC 4475 §3.1.2.7, §3.1.2.8); a SIP/SIPS
 * one must parse (RFC 5118 §4.2) and may not carry headers (§19.1.1 table; RFC 4475 §3.1.2.11).
 * Unknown schemes are well formed here: the UAS answers 416 (§8.2.2.1, RFC 4475 §3.3.2).
 */
function uriProblem(uri: string): Problem | undefined {
  const scheme = uriScheme(uri);
  if (scheme === 'sip' || scheme === 'sips') {
    const parsed = parseSipUri(uri);
    if (parsed === undefined) return { code: 'BAD_REQUEST_URI', reason: 'Malformed Request-URI' };
    if (parsed.headers.length > 0) return { code: 'BAD_REQUEST_URI', reason: 'Headers Not Allowed in Request-URI' };
    return undefined;
  }
  return isWellFormedUri(uri) ? undefined : { code: 'BAD_REQUEST_URI', reason: 'Malformed Request-URI' };
}

function validateHeaders(startLine: StartLine, headers: HeaderField[], limits: SipLimits): Problem | undefined {
  const counts = new Map<string, number>();
  let viaValues = 0;
  for (const field of headers) {
    counts.set(field.name, (counts.get(field.name) ?? 0) + 1);
    if (field.name !== 'Via') continue;
    // §20.42: each element of each Via field is one via-parm (RFC 4475 §3.1.2.1: no empty ones).
    const ok = everyListElement(field.value, (element) => {
      viaValues++;
      return viaValues <= limits.maxViaValues && parseVia(element) !== undefined;
    });
    if (viaValues > limits.maxViaValues) return { code: 'TOO_MANY_VIA', reason: 'Too Many Via Values' };
    if (!ok) return { code: 'BAD_VIA', reason: 'Malformed Via Header Field' };
  }
  for (const name of MANDATORY_HEADERS) {
    if (!counts.has(name)) return { code: 'MISSING_HEADER', reason: `Missing ${name} Header Field` };
  }
  for (const name of SINGULAR_HEADERS) {
    if ((counts.get(name) ?? 0) > 1) {
      return name === 'Content-Length'
        ? { code: 'BAD_CONTENT_LENGTH', reason: 'Multiple Content-Length Values' }
        : { code: 'DUPLICATE_HEADER', reason: `Multiple ${name} Header Fields` };
    }
  }

  for (const field of headers) {
    switch (field.name) {
      case 'CSeq': {
        const cseq = parseCSeq(field.value);
        if (cseq === undefined) return { code: 'BAD_CSEQ', reason: 'Malformed CSeq Header Field' };
        // §8.2 / §20.16: the CSeq method matches the request method (RFC 4475 §3.1.2.17).
        if (startLine.kind === 'request' && cseq.method !== startLine.method) {
          return { code: 'MISMATCHED_CSEQ', reason: 'CSeq Method Does Not Match Request' };
        }
        break;
      }
      case 'Call-ID':
        if (!isCallId(field.value)) return { code: 'BAD_CALL_ID', reason: 'Malformed Call-ID Header Field' };
        break;
      case 'Max-Forwards':
        // §20.22: 0-255 (RFC 4475 §3.1.2.4).
        if (parseBoundedInteger(field.value, 255) === undefined) return { code: 'BAD_MAX_FORWARDS', reason: 'Malformed Max-Forwards Header Field' };
        break;
      default:
        if (ADDRESS_HEADERS.has(field.name) && !isAddressList(field.name, field.value)) {
          return { code: 'BAD_ADDRESS', reason: `Malformed ${field.name} Header Field` };
        }
    }
  }
  return undefined;
}

/** callid = word [ "@" word ] (§25.1). */
function isCallId(value: string): boolean {
  const at = value.indexOf('@');
  return at < 0 ? isWord(value) : isWord(value.slice(0, at)) && isWord(value.slice(at + 1));
}

/** From/To hold one address; Contact, Route and Record-Route a list; Contact may be "*" (§20.10). */
function isAddressList(name: string, value: string): boolean {
  if (name === 'From' || name === 'To') return parseNameAddr(value) !== undefined;
  if (name === 'Contact' && value === '*') return true;
  return everyListElement(value, (element) => parseNameAddr(element) !== undefined);
}

/** Tests each comma-separated element (§7.3.1) in turn, stopping at the first failure. */
function everyListElement(value: string, check: (element: string) => boolean): boolean {
  for (let start = 0; ; ) {
    const end = topLevelEnd(value, start, 0x2c);
    if (!check(trimSpace(value.slice(start, end)))) return false;
    if (end >= value.length) return true;
    start = end + 1;
  }
}
