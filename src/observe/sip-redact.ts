// SIP trace redaction, for `trace`-level logging only. Keeps what debugging signalling
// needs (start line, routing headers, tags, lengths) and removes what an attacker wants:
// credentials (Authorization, Proxy-Authorization; RFC 3261 §22), User-to-User (RFC 7433,
// may carry customer data), the caller's identity, SDES keys (a=crypto, RFC 4568 §9.1), and
// every body — INFO bodies carry DTMF (application/dtmf-relay), SDP carries keys.
//
// No RegExp runs here: the text may hold exactly what must not be copied (RegExp.input
// keeps the last subject). Prefer redactSipMessage(bytes): the body is never decoded.

const REDACTED = '[redacted]';

/** Headers whose whole value goes: credentials and opaque application data. */
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'user-to-user']);

/** Headers naming the caller (long and compact forms, RFC 3261 §7.3.3; RFC 3325; RFC 5806). Only a tag is kept. */
const IDENTITY_HEADERS = new Set([
  'from',
  'f',
  'contact',
  'm',
  'p-asserted-identity',
  'p-preferred-identity',
  'remote-party-id',
  'referred-by',
  'b',
  'reply-to',
  'diversion',
  'history-info',
]);

function bodySummary(length: number): string {
  return `[body redacted: ${length} bytes]`;
}

/** The `;tag=` parameter of a From value (§19.3), which dialog debugging needs; '' if none. */
function tagParam(value: string): string {
  const lower = value.toLowerCase();
  const afterUri = Math.max(0, lower.lastIndexOf('>'));
  const at = lower.indexOf(';tag=', afterUri);
  if (at < 0) return '';
  let end = at + 5;
  while (end < value.length) {
    const c = value.charCodeAt(end);
    if (c === 0x3b || c === 0x2c || c === 0x20 || c === 0x09) break;
    end++;
  }
  return value.slice(at, end);
}

/** `a=crypto:<tag> <suite> inline:<key>…` keeps tag and suite, loses key and session params. */
function redactCryptoLine(line: string): string {
  const inline = line.indexOf('inline:');
  return `${inline < 0 ? 'a=crypto:' : line.slice(0, inline + 7)}${REDACTED}`;
}

function redactHeaderLine(line: string): { text: string; redacted: boolean } {
  if (line.startsWith('a=crypto:')) return { text: redactCryptoLine(line), redacted: true };
  const colon = line.indexOf(':');
  // A head line that is not a header is either malformed or a body with no blank line
  // before it; either way it is not ours to print.
  if (colon <= 0) return { text: REDACTED, redacted: true };
  const name = line.slice(0, colon).trim().toLowerCase();
  if (SECRET_HEADERS.has(name)) return { text: `${line.slice(0, colon)}: ${REDACTED}`, redacted: true };
  if (IDENTITY_HEADERS.has(name)) return { text: `${line.slice(0, colon)}: ${REDACTED}${tagParam(line.slice(colon + 1))}`, redacted: true };
  return { text: line, redacted: false };
}

/** Redacts the head (start line and header lines, without the blank line). */
function redactHead(head: string): string {
  const out: string[] = [];
  let lineStart = 0;
  let first = true;
  let previousRedacted = false;
  while (lineStart < head.length) {
    let lineEnd = head.indexOf('\n', lineStart);
    if (lineEnd < 0) lineEnd = head.length;
    const hasCr = lineEnd > lineStart && head.charCodeAt(lineEnd - 1) === 0x0d;
    const line = head.slice(lineStart, hasCr ? lineEnd - 1 : lineEnd);
    const eol = lineEnd < head.length ? (hasCr ? '\r\n' : '\n') : '';
    lineStart = lineEnd + 1;
    if (first) {
      out.push(line, eol);
      first = false;
      continue;
    }
    const c = line.charCodeAt(0);
    if (c === 0x20 || c === 0x09) {
      // A folded continuation (§7.3.1) belongs to the header above it.
      if (!previousRedacted) out.push(line, eol);
      continue;
    }
    const { text, redacted } = redactHeaderLine(line);
    previousRedacted = redacted;
    out.push(text, eol);
  }
  return out.join('');
}

/** Where the blank line ends, in a text or byte sequence; -1 when there is none. */
function bodyOffset(length: number, at: (i: number) => number): { headEnd: number; bodyStart: number } | undefined {
  for (let i = 0; i < length; i++) {
    if (at(i) !== 0x0a) continue;
    if (at(i + 1) === 0x0a) return { headEnd: i, bodyStart: i + 2 };
    if (at(i + 1) === 0x0d && at(i + 2) === 0x0a) return { headEnd: i, bodyStart: i + 3 };
  }
  return undefined;
}

/** Runs of this many digits or more are replaced in traces (the log masker's long-run rule). */
const DIGIT_RUN = 7;
const DIGITS = '[digits]';

/**
 * Replaces every run of 7+ ASCII digits: numbers in Request-URIs and To headers, and the
 * random Via branches, tags and Call-IDs peers make, which would otherwise trip the log
 * masker — whose hit counter must keep meaning "a real leak".
 */
function maskDigitRuns(text: string): string {
  let out = '';
  let copied = 0;
  let runStart = -1;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : -1;
    if (c >= 0x30 && c <= 0x39) {
      if (runStart < 0) runStart = i;
      continue;
    }
    if (runStart >= 0 && i - runStart >= DIGIT_RUN) {
      out += text.slice(copied, runStart) + DIGITS;
      copied = i;
    }
    runStart = -1;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

function assemble(head: string, separator: string, bodyLength: number): string {
  const redacted = maskDigitRuns(redactHead(head));
  return bodyLength > 0 ? `${redacted}${separator}${bodySummary(bodyLength)}` : `${redacted}${separator}`;
}

/** Redacts one SIP message given as text. */
export function redactSipMessageText(text: string): string {
  const split = bodyOffset(text.length, (i) => text.charCodeAt(i));
  if (split === undefined) return maskDigitRuns(redactHead(text));
  const headLines = text.slice(0, split.headEnd + 1);
  return assemble(headLines, text.slice(split.headEnd + 1, split.bodyStart), text.length - split.bodyStart);
}

/** Redacts one SIP message given as wire bytes; the body is measured, never decoded. */
export function redactSipMessage(bytes: Uint8Array): string {
  const split = bodyOffset(bytes.length, (i) => bytes[i] ?? -1);
  const decoder = new TextDecoder();
  if (split === undefined) return maskDigitRuns(redactHead(decoder.decode(bytes)));
  const head = decoder.decode(bytes.subarray(0, split.headEnd + 1));
  const separator = decoder.decode(bytes.subarray(split.headEnd + 1, split.bodyStart));
  return assemble(head, separator, bytes.length - split.bodyStart);
}
