// A small JSON reader for request bodies that carry card data: it walks the bytes and
// returns string values as byte ranges (subarrays of the body), so a card number never
// becomes a JS string. Object keys and numbers are decoded (they are not sensitive).
// Strings with escapes are refused: card fields are plain ASCII digits.

export type JsonBytes = Uint8Array | number | boolean | null | JsonBytes[] | { [key: string]: JsonBytes };

export class JsonBytesError extends Error {
  constructor(readonly offset: number) {
    super(`malformed JSON at byte ${offset}`);
  }
}

const MAX_DEPTH = 8;

class Reader {
  at = 0;
  constructor(private readonly bytes: Uint8Array) {}

  fail(): never {
    throw new JsonBytesError(this.at);
  }

  skipSpace(): void {
    while (this.at < this.bytes.length) {
      const byte = this.bytes[this.at]!;
      if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) return;
      this.at += 1;
    }
  }

  expect(byte: number): void {
    this.skipSpace();
    if (this.bytes[this.at] !== byte) this.fail();
    this.at += 1;
  }

  value(depth: number): JsonBytes {
    if (depth > MAX_DEPTH) this.fail();
    this.skipSpace();
    const byte = this.bytes[this.at];
    if (byte === 0x7b) return this.object(depth);
    if (byte === 0x5b) return this.array(depth);
    if (byte === 0x22) return this.string();
    if (byte === 0x74) return this.literal('true', true);
    if (byte === 0x66) return this.literal('false', false);
    if (byte === 0x6e) return this.literal('null', null);
    return this.number();
  }

  object(depth: number): { [key: string]: JsonBytes } {
    const result: { [key: string]: JsonBytes } = Object.create(null);
    this.expect(0x7b);
    this.skipSpace();
    if (this.bytes[this.at] === 0x7d) {
      this.at += 1;
      return result;
    }
    for (;;) {
      this.skipSpace();
      const key = Buffer.from(this.string()).toString('utf8');
      this.expect(0x3a);
      result[key] = this.value(depth + 1);
      this.skipSpace();
      const next = this.bytes[this.at];
      this.at += 1;
      if (next === 0x7d) return result;
      if (next !== 0x2c) this.fail();
    }
  }

  array(depth: number): JsonBytes[] {
    const result: JsonBytes[] = [];
    this.expect(0x5b);
    this.skipSpace();
    if (this.bytes[this.at] === 0x5d) {
      this.at += 1;
      return result;
    }
    for (;;) {
      result.push(this.value(depth + 1));
      this.skipSpace();
      const next = this.bytes[this.at];
      this.at += 1;
      if (next === 0x5d) return result;
      if (next !== 0x2c) this.fail();
    }
  }

  /** A string's bytes, without the quotes; escapes and control bytes are refused. */
  string(): Uint8Array {
    if (this.bytes[this.at] !== 0x22) this.fail();
    const start = this.at + 1;
    let end = start;
    while (end < this.bytes.length && this.bytes[end] !== 0x22) {
      const byte = this.bytes[end]!;
      if (byte === 0x5c || byte < 0x20) {
        this.at = end;
        this.fail();
      }
      end += 1;
    }
    if (end >= this.bytes.length) this.fail();
    this.at = end + 1;
    return this.bytes.subarray(start, end);
  }

  literal(text: string, value: boolean | null): boolean | null {
    for (let index = 0; index < text.length; index += 1) {
      if (this.bytes[this.at + index] !== text.charCodeAt(index)) this.fail();
    }
    this.at += text.length;
    return value;
  }

  number(): number {
    const start = this.at;
    while (this.at < this.bytes.length) {
      const byte = this.bytes[this.at]!;
      const numeric = (byte >= 0x30 && byte <= 0x39) || byte === 0x2d || byte === 0x2b || byte === 0x2e || byte === 0x65 || byte === 0x45;
      if (!numeric) break;
      this.at += 1;
    }
    const value = Number(Buffer.from(this.bytes.subarray(start, this.at)).toString('latin1'));
    if (this.at === start || !Number.isFinite(value)) this.fail();
    return value;
  }
}

/** Parses a whole document; string values are views into `bytes` (zero `bytes` to wipe them). */
export function parseJsonBytes(bytes: Uint8Array): JsonBytes {
  const reader = new Reader(bytes);
  const value = reader.value(0);
  reader.skipSpace();
  if (reader.at !== bytes.length) reader.fail();
  return value;
}
