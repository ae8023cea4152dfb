// Cuts SIP messages out of a TCP/TLS byte stream (RFC 3261 §18.3): header section to the
// empty line, then exactly Content-Length octets, which is mandatory on streams. Keep-alive
// CRLFs between messages are consumed (§7.5, RFC 5626 §3.5.1). Buffered bytes are capped;
// once framing is lost the connection cannot be resynchronised and must be closed.
import { DEFAULT_SIP_LIMITS, type SipLimits } from './limits.ts';
import { canonicalHeaderName } from './header-names.ts';
import { parseContentLength } from './headers.ts';
import { isSpaceOrTab, trimSpace } from './syntax.ts';

export type StreamFramingErrorCode = 'MESSAGE_TOO_LARGE' | 'MISSING_CONTENT_LENGTH' | 'BAD_CONTENT_LENGTH';

export interface StreamFramingError {
  readonly code: StreamFramingErrorCode;
  /** Short ASCII text fit for a 400 reason phrase. */
  readonly reason: string;
  /**
   * The offending message's header section (ending in the empty line) when it was read whole:
   * parse it with parseMessage(headerSection, limits, 'stream') — which always fails — to send
   * a best-effort 400 before closing (RFC 4475 §3.1.2.3, §3.3.9).
   */
  readonly headerSection?: Buffer;
}

export interface StreamFramerOutput {
  /** Complete messages in arrival order, each its own copy (header section + body). */
  readonly messages: Buffer[];
  /** CRLFCRLF keep-alive pings seen; answer each with one CRLF pong (RFC 5626 §3.5.1). */
  readonly pings: number;
  /** Set once framing is lost; every later push returns it again. Close the connection. */
  readonly error?: StreamFramingError;
}

const HEADER_SECTION_END = Buffer.from('\r\n\r\n', 'latin1');
const INITIAL_CAPACITY = 4096;

export class StreamFramer {
  readonly #limit: number;
  #buffer = Buffer.alloc(0);
  /** Unconsumed bytes are #buffer[#start, #end). */
  #start = 0;
  #end = 0;
  /** Where the search for the empty line resumes, so each byte is scanned once. */
  #scanFrom = 0;
  /** Length of the pending message once its header section is read, else -1. */
  #frameLength = -1;
  #error: StreamFramingError | undefined;

  constructor(limits: Partial<Pick<SipLimits, 'maxMessageBytes'>> = {}) {
    this.#limit = limits.maxMessageBytes ?? DEFAULT_SIP_LIMITS.maxMessageBytes;
  }

  get bufferedBytes(): number {
    return this.#end - this.#start;
  }

  push(chunk: Buffer): StreamFramerOutput {
    const messages: Buffer[] = [];
    const counter = { pings: 0 };
    let offset = 0;
    while (this.#error === undefined) {
      if (offset < chunk.length) {
        const room = this.#limit - this.bufferedBytes;
        if (room === 0) {
          this.#fail({ code: 'MESSAGE_TOO_LARGE', reason: 'Message Too Large' });
          break;
        }
        const take = Math.min(room, chunk.length - offset);
        this.#append(chunk, offset, take);
        offset += take;
      }
      this.#extract(messages, counter);
      if (offset >= chunk.length) break;
    }
    return this.#error === undefined
      ? { messages, pings: counter.pings }
      : { messages, pings: counter.pings, error: this.#error };
  }

  /** Zeroes and releases the buffer (it may hold part of an INFO body). Safe to call twice. */
  close(): void {
    this.#buffer.fill(0);
    this.#buffer = Buffer.alloc(0);
    this.#start = this.#end = this.#scanFrom = 0;
    this.#frameLength = -1;
  }

  #fail(error: StreamFramingError): void {
    this.#error = error;
    this.close();
  }

  #append(chunk: Buffer, offset: number, length: number): void {
    const needed = this.bufferedBytes + length;
    if (this.#end + length > this.#buffer.length) {
      // Grow (doubling, up to the limit) or just compact; zero what is left behind.
      let capacity = Math.max(this.#buffer.length, INITIAL_CAPACITY);
      while (capacity < needed) capacity *= 2;
      capacity = Math.min(capacity, this.#limit);
      const next = capacity === this.#buffer.length ? this.#buffer : Buffer.alloc(capacity);
      this.#buffer.copy(next, 0, this.#start, this.#end);
      if (next !== this.#buffer) this.#buffer.fill(0);
      else next.fill(0, this.bufferedBytes, this.#end);
      this.#buffer = next;
      this.#scanFrom -= this.#start;
      this.#end -= this.#start;
      this.#start = 0;
    }
    chunk.copy(this.#buffer, this.#end, offset, offset + length);
    this.#end += length;
  }

  #extract(messages: Buffer[], counter: { pings: number }): void {
    const buffer = this.#buffer;
    for (;;) {
      if (this.#frameLength < 0) {
        if (!this.#skipKeepAlives(counter)) return;
        const searchFrom = Math.max(this.#scanFrom, this.#start);
        const found = buffer.subarray(0, this.#end).indexOf(HEADER_SECTION_END, searchFrom);
        if (found < 0) {
          this.#scanFrom = Math.max(this.#start, this.#end - 3);
          if (this.bufferedBytes >= this.#limit) this.#fail({ code: 'MESSAGE_TOO_LARGE', reason: 'Message Too Large' });
          return;
        }
        const headerLength = found + 4 - this.#start;
        const declared = declaredContentLength(buffer.toString('latin1', this.#start, found));
        if (typeof declared === 'string') {
          const headerSection = Buffer.alloc(headerLength);
          buffer.copy(headerSection, 0, this.#start, found + 4);
          this.#fail(declared === 'missing'
            ? { code: 'MISSING_CONTENT_LENGTH', reason: 'Missing Content-Length', headerSection }
            : { code: 'BAD_CONTENT_LENGTH', reason: 'Bad Content-Length', headerSection });
          return;
        }
        if (headerLength + declared > this.#limit) {
          const headerSection = Buffer.alloc(headerLength);
          buffer.copy(headerSection, 0, this.#start, found + 4);
          this.#fail({ code: 'MESSAGE_TOO_LARGE', reason: 'Message Too Large', headerSection });
          return;
        }
        this.#frameLength = headerLength + declared;
      }
      if (this.bufferedBytes < this.#frameLength) return;
      const message = Buffer.alloc(this.#frameLength);
      buffer.copy(message, 0, this.#start, this.#start + this.#frameLength);
      messages.push(message);
      this.#start += this.#frameLength;
      this.#scanFrom = this.#start;
      this.#frameLength = -1;
      if (this.#start === this.#end) {
        buffer.fill(0, 0, this.#end);
        this.#start = this.#end = this.#scanFrom = 0;
      }
    }
  }

  /** Consumes CRLFCRLF pings and lone CRLF pongs before a start line; false when it must wait for more bytes. */
  #skipKeepAlives(counter: { pings: number }): boolean {
    const buffer = this.#buffer;
    const isCrlf = (at: number): boolean => buffer[at] === 0x0d && buffer[at + 1] === 0x0a;
    while (this.bufferedBytes >= 2 && isCrlf(this.#start)) {
      if (this.bufferedBytes >= 4 && isCrlf(this.#start + 2)) {
        counter.pings++;
        this.#start += 4;
        continue;
      }
      // "\r\n" or "\r\n\r" may still become a ping.
      if (this.bufferedBytes === 2 || (this.bufferedBytes === 3 && buffer[this.#start + 2] === 0x0d)) return false;
      this.#start += 2;
    }
    if (this.#start === this.#end) this.#start = this.#end = this.#scanFrom = 0;
    return this.bufferedBytes > 0;
  }
}

/** The one Content-Length of a header section (folded lines joined, §7.3.1), 'missing', or 'bad'. */
function declaredContentLength(head: string): number | 'missing' | 'bad' {
  let value: string | undefined;
  let inContentLength = false;
  let position = head.indexOf('\r\n') + 2; // skip the start line
  if (position === 1) return 'missing';
  while (position < head.length) {
    let lineEnd = head.indexOf('\r\n', position);
    if (lineEnd < 0) lineEnd = head.length;
    const line = head.slice(position, lineEnd);
    position = lineEnd + 2;
    if (isSpaceOrTab(line.charCodeAt(0))) {
      if (inContentLength) value = `${value ?? ''} ${trimSpace(line)}`;
      continue;
    }
    const colon = line.indexOf(':');
    inContentLength = colon > 0 && canonicalHeaderName(trimSpace(line.slice(0, colon))) === 'Content-Length';
    if (!inContentLength) continue;
    if (value !== undefined) return 'bad'; // two values cannot both frame the stream (RFC 4475 §3.3.9)
    value = line.slice(colon + 1);
  }
  if (value === undefined) return 'missing';
  return parseContentLength(value) ?? 'bad';
}
