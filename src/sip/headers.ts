// Header accessors every SIP layer uses, over the wire-order fields of a SipMessage (§7.3).
import type { SipMessage } from './message.ts';
import { canonicalHeaderName, headerNameMatches, isListHeader } from './header-names.ts';
import { isDigits, isSpaceOrTab, isToken, splitTopLevel, trimSpace } from './syntax.ts';
import { parseNameAddr } from './name-addr.ts';

export { canonicalHeaderName } from './header-names.ts';
export { parseVia, type Via } from './via.ts';
export { parseNameAddr, type NameAddr } from './name-addr.ts';

/**
 * All values of a header in wire order. List headers (§7.3.1) are split at top-level commas
 * (not inside quoted strings or <...>), empty elements dropped; other headers (Date,
 * Authorization, WWW-Authenticate, From, ...) come back one value per field, unsplit.
 * `name` may be any case or a compact form.
 */
export function headerValues(msg: SipMessage, name: string): string[] {
  const canonical = canonicalHeaderName(name);
  const list = isListHeader(canonical);
  const values: string[] = [];
  for (const field of msg.headers) {
    if (!headerNameMatches(field.name, canonical)) continue;
    if (!list) {
      values.push(field.value);
      continue;
    }
    for (const element of splitTopLevel(field.value, 0x2c)) if (element.length > 0) values.push(element);
  }
  return values;
}

/** The first value of a header (the first list element for list headers), or undefined. */
export function firstHeader(msg: SipMessage, name: string): string | undefined {
  const canonical = canonicalHeaderName(name);
  for (const field of msg.headers) {
    if (!headerNameMatches(field.name, canonical)) continue;
    if (!isListHeader(canonical)) return field.value;
    for (const element of splitTopLevel(field.value, 0x2c)) if (element.length > 0) return element;
  }
  return undefined;
}

export interface CSeq {
  readonly seq: number;
  readonly method: string;
}

/** CSeq = 1*DIGIT LWS Method (§20.16); the number must fit 32 bits unsigned (§8.1.1.5). */
export function parseCSeq(value: string): CSeq | undefined {
  const text = trimSpace(value);
  let split = 0;
  while (split < text.length && !isSpaceOrTab(text.charCodeAt(split))) split++;
  const digits = text.slice(0, split);
  const method = trimSpace(text.slice(split));
  if (!isDigits(digits) || !isToken(method)) return undefined;
  const seq = parseBoundedInteger(digits, 0xffffffff);
  return seq === undefined ? undefined : { seq, method };
}

/** A 1*DIGIT value no larger than `max` (leading zeros allowed: RFC 4475 §3.1.1.1), else undefined. */
export function parseBoundedInteger(text: string, max: number): number | undefined {
  const digits = trimSpace(text);
  if (!isDigits(digits)) return undefined;
  let first = 0;
  while (first < digits.length - 1 && digits.charCodeAt(first) === 0x30) first++;
  if (digits.length - first > 15) return undefined; // beyond any limit here; avoids float rounding
  const value = Number(digits.slice(first));
  return value <= max ? value : undefined;
}

/** Content-Length = 1*DIGIT (§20.14), capped far above any message this stack accepts. */
export function parseContentLength(value: string): number | undefined {
  return parseBoundedInteger(value, 0x7fffffff);
}

/** The tag of a From/To value (§19.3), or undefined when absent or the value is malformed. */
export function tagOf(value: string | undefined): string | undefined {
  return value === undefined ? undefined : parseNameAddr(value)?.tag;
}

export const fromTag = (msg: SipMessage): string | undefined => tagOf(firstHeader(msg, 'From'));
export const toTag = (msg: SipMessage): string | undefined => tagOf(firstHeader(msg, 'To'));
