// DTMF carried in SIP INFO bodies (no RFC; de-facto formats):
//   application/dtmf-relay   "Signal=5\r\nDuration=160\r\n"   (Cisco-style; other lines ignored)
//   application/dtmf         "5"
//   audio/telephone-event    one RFC 4733 §2.3 event block (4 bytes)
// Secure digits may travel here, so the body is read byte by byte: no string is made of it, no
// RegExp touches it (RegExp.input would keep it), and the caller zeroes it right after.
import type { DtmfCode } from '../vault/types.ts';

export type InfoDtmfFormat = 'dtmf-relay' | 'dtmf' | 'telephone-event';
export type InfoParseResult = DtmfCode | 'malformed';

/** Largest body accepted; real ones are ~25 bytes. */
export const MAX_INFO_BODY = 256;

const CR = 0x0d;
const LF = 0x0a;
const SPACE = 0x20;
const TAB = 0x09;
const EQUALS = 0x3d;
const SIGNAL = [0x73, 0x69, 0x67, 0x6e, 0x61, 0x6c]; // "signal"

/** The INFO body types taken, for the Accept header of a 415 (RFC 3261 §21.4.13). */
export const INFO_DTMF_TYPES = 'application/dtmf-relay, application/dtmf, audio/telephone-event';

/** Maps a Content-Type value (parameters and case ignored) to the DTMF format, or null. */
export function infoDtmfFormat(contentType: string): InfoDtmfFormat | null {
  const semicolon = contentType.indexOf(';');
  const type = (semicolon >= 0 ? contentType.slice(0, semicolon) : contentType).trim().toLowerCase();
  if (type === 'application/dtmf-relay') return 'dtmf-relay';
  if (type === 'application/dtmf') return 'dtmf';
  if (type === 'audio/telephone-event') return 'telephone-event';
  return null;
}

const isBlank = (byte: number) => byte === SPACE || byte === TAB;

// One key as text: 0-9 * # A-D (either case), or the event code 10-15 written in decimal.
function keyValue(body: Uint8Array, start: number, end: number): InfoParseResult {
  const length = end - start;
  const first = body[start]!;
  if (length === 1) {
    if (first >= 0x30 && first <= 0x39) return first - 0x30;
    if (first === 0x2a) return 10; // '*'
    if (first === 0x23) return 11; // '#'
    const upper = first & ~0x20;
    if (upper >= 0x41 && upper <= 0x44) return 12 + (upper - 0x41); // A-D
    return 'malformed';
  }
  if (length === 2 && first === 0x31) {
    const second = body[start + 1]!;
    if (second >= 0x30 && second <= 0x35) return 10 + (second - 0x30);
  }
  return 'malformed';
}

// The extent of a token: from `at`, past blanks, to the next blank or line end.
function token(body: Uint8Array, at: number, limit: number): [number, number] {
  let start = at;
  while (start < limit && isBlank(body[start]!)) start++;
  let end = start;
  while (end < limit && !isBlank(body[end]!) && body[end] !== CR && body[end] !== LF) end++;
  return [start, end];
}

function parseRelay(body: Uint8Array): InfoParseResult {
  let result: InfoParseResult = 'malformed';
  let signals = 0;
  for (let line = 0; line < body.length; ) {
    let lineEnd = line;
    while (lineEnd < body.length && body[lineEnd] !== LF) lineEnd++;
    const contentEnd = lineEnd > line && body[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
    let at = line;
    while (at < contentEnd && isBlank(body[at]!)) at++;
    let matches = contentEnd - at > SIGNAL.length;
    for (let i = 0; matches && i < SIGNAL.length; i++) matches = (body[at + i]! | 0x20) === SIGNAL[i];
    if (matches) {
      at += SIGNAL.length;
      while (at < contentEnd && isBlank(body[at]!)) at++;
      if (body[at] !== EQUALS) return 'malformed';
      const [start, end] = token(body, at + 1, contentEnd);
      const [trailing] = token(body, end, contentEnd);
      if (start === end || trailing !== contentEnd) return 'malformed';
      result = keyValue(body, start, end);
      signals++;
    }
    line = lineEnd + 1;
  }
  return signals === 1 ? result : 'malformed';
}

function parseBare(body: Uint8Array): InfoParseResult {
  const [start, end] = token(body, 0, body.length);
  let rest = end;
  while (rest < body.length && (isBlank(body[rest]!) || body[rest] === CR || body[rest] === LF)) rest++;
  if (start === end || rest !== body.length) return 'malformed';
  return keyValue(body, start, end);
}

function parseTelephoneEvent(body: Uint8Array): InfoParseResult {
  if (body.length !== 4 || body[0]! > 15) return 'malformed';
  return body[0]!;
}

/** Reads the key from an INFO body of the given format. Does not modify the body. */
export function parseInfoDtmf(format: InfoDtmfFormat, body: Uint8Array): InfoParseResult {
  if (body.length === 0 || body.length > MAX_INFO_BODY) return 'malformed';
  if (format === 'dtmf-relay') return parseRelay(body);
  if (format === 'dtmf') return parseBare(body);
  return parseTelephoneEvent(body);
}
