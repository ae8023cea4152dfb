// Writes a SipMessage to wire bytes (RFC 3261 §7): start line, header fields in their stored
// order, Content-Length set to the body's length (§20.14), empty line, body.
import type { SipMessage } from './message.ts';
import { headerNameMatches } from './header-names.ts';
import { isToken } from './syntax.ts';

export { buildResponse } from './response-builder.ts';

export type SipSerializeErrorCode = 'SIP_UNSAFE_HEADER' | 'SIP_UNSAFE_START_LINE';

/** Raised for a message that would inject lines or break framing: a programming error, never peer input. */
export class SipSerializeError extends Error {
  readonly code: SipSerializeErrorCode;
  constructor(code: SipSerializeErrorCode, message: string) {
    super(message);
    this.name = 'SipSerializeError';
    this.code = code;
  }
}

const hasLineBreak = (text: string): boolean => text.includes('\r') || text.includes('\n');

function startLine(msg: SipMessage): string {
  if (msg.kind === 'request') {
    if (!isToken(msg.method) || msg.uri.length === 0 || msg.uri.includes(' ') || hasLineBreak(msg.uri)) {
      throw new SipSerializeError('SIP_UNSAFE_START_LINE', 'request method or URI is not serialisable');
    }
    return `${msg.method} ${msg.uri} SIP/2.0\r\n`;
  }
  if (!Number.isInteger(msg.status) || msg.status < 100 || msg.status > 699 || hasLineBreak(msg.reason)) {
    throw new SipSerializeError('SIP_UNSAFE_START_LINE', 'response status or reason is not serialisable');
  }
  return `SIP/2.0 ${msg.status} ${msg.reason}\r\n`;
}

/**
 * Serialises a message. Content-Length is written where the message first had it (so a parsed
 * message round-trips byte-stable), or last when it had none; other copies are dropped.
 */
export function serializeMessage(msg: SipMessage): Buffer {
  const contentLength = `Content-Length: ${msg.body.length}\r\n`;
  let head = startLine(msg);
  let wroteLength = false;
  for (const field of msg.headers) {
    if (headerNameMatches(field.name, 'Content-Length')) {
      if (!wroteLength) head += contentLength;
      wroteLength = true;
      continue;
    }
    if (!isToken(field.name) || hasLineBreak(field.value)) {
      throw new SipSerializeError('SIP_UNSAFE_HEADER', 'header name or value is not serialisable');
    }
    head += `${field.name}: ${field.value}\r\n`;
  }
  if (!wroteLength) head += contentLength;
  head += '\r\n';

  const headLength = Buffer.byteLength(head, 'utf8');
  // Unpooled: the output may carry a body the caller will want gone with the call.
  const out = Buffer.allocUnsafeSlow(headLength + msg.body.length);
  out.write(head, 0, 'utf8');
  msg.body.copy(out, headLength);
  return out;
}
