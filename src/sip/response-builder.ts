// Builds a UAS response from the request it answers (RFC 3261 §8.2.6).
import type { HeaderField, SipRequest, SipResponse } from './message.ts';
import { parseNameAddr } from './name-addr.ts';

/** Fields a response copies from its request, in this order (§8.2.6.2). */
const COPIED = new Set(['Via', 'From', 'To', 'Call-ID', 'CSeq']);

/**
 * A response to `request`: all Via fields in order, From, To, Call-ID and CSeq copied
 * (§8.2.6.2), then `extraHeaders`. With `toTag`, a To without a tag gets `;tag=toTag`
 * (§8.2.6.2, §12.1.1); a To that has one keeps it. The body is empty. Fields missing
 * from a partial request (a 400 to a malformed one) are simply not copied.
 */
export function buildResponse(
  request: SipRequest,
  status: number,
  reason: string,
  extraHeaders: readonly HeaderField[] = [],
  toTag?: string,
): SipResponse {
  const headers: HeaderField[] = [];
  for (const field of request.headers) {
    if (!COPIED.has(field.name)) continue;
    const to = field.name === 'To' && toTag !== undefined ? parseNameAddr(field.value) : undefined;
    if (to !== undefined && to.tag === undefined) {
      headers.push({ name: 'To', value: `${field.value};tag=${toTag}` });
    } else {
      headers.push({ name: field.name, value: field.value });
    }
  }
  headers.push(...extraHeaders);
  return { kind: 'response', status, reason, headers, body: Buffer.alloc(0) };
}
