// The two places where secret bytes meet the PostgreSQL wire protocol, kept out of `pg`'s
// own code paths:
//  - outgoing: one extended-query exchange (Parse, Bind, Describe, Execute, Sync; protocol
//    §55.2.3) built in a zeroed lease of locked memory (secure-buffers.ts), secrets written
//    straight from the arena with Secret.writeTo and bound in binary format, released (zeroed)
//    after the socket took it.
//    (pg's own serializer would copy the parameters into its pooled 8 KiB writer buffers.)
//  - incoming: pg-protocol decodes every DataRow field into a JS string, which can never be
//    wiped. ResultTap sees each decrypted chunk first, follows the message framing
//    (§55.7), copies the bytes of sensitive columns into the cell's arena and overwrites
//    them with zeros in the chunk before pg's parser ever reads it. The sensitive field and
//    the error texts are staged in leases released as soon as they have been read.
import type { Secret, SecretKind } from '../vault/types.ts';
import type { SecretImporter } from './types.ts';
import { type SecureBufferPool, type SecureLease, secureBuffers } from './secure-buffers.ts';

export type WireParam = Secret | string | number | boolean | null;

function isSecret(value: WireParam): value is Secret {
  return typeof value === 'object' && value !== null && typeof (value as Secret).writeTo === 'function';
}

const FORMAT_TEXT = 0;
const FORMAT_BINARY = 1;

/** Encodes a non-secret parameter in text format. */
function textParam(value: string | number | boolean): Buffer {
  return Buffer.from(typeof value === 'boolean' ? (value ? 't' : 'f') : String(value), 'utf8');
}

/**
 * Builds Parse+Bind+Describe+Execute+Sync for the unnamed statement and portal in one
 * zero-initialised lease. Secrets are bound in binary format: for text-like types the
 * binary form is the raw bytes, so the value never passes through a JS string.
 * Results are requested in text format (ResultTap handles the sensitive ones).
 */
function encodeExtendedQuery(sql: string, params: readonly WireParam[], acquire: (length: number) => SecureLease): SecureLease {
  const sqlBytes = Buffer.byteLength(sql, 'utf8');
  const plain = params.map((value) => (value === null || isSecret(value) ? undefined : textParam(value)));
  let paramBytes = 0;
  params.forEach((value, index) => {
    paramBytes += 4;
    if (value === null) return;
    paramBytes += isSecret(value) ? value.length() : plain[index]!.length;
  });
  const parseLength = 4 + 1 + sqlBytes + 1 + 2;
  const bindLength = 4 + 1 + 1 + 2 + params.length * 2 + 2 + paramBytes + 2 + 2;
  const describeLength = 4 + 1 + 1;
  const executeLength = 4 + 1 + 4;
  const syncLength = 4;
  const total = 5 * 1 + parseLength + bindLength + describeLength + executeLength + syncLength;
  const lease = acquire(total);
  const out = lease.bytes;
  try {
    let at = 0;
    const header = (code: string, length: number): void => {
      out[at++] = code.charCodeAt(0);
      out.writeInt32BE(length, at);
      at += 4;
    };

    header('P', parseLength);
    at += 1; // unnamed statement: empty C string
    at += out.write(sql, at, 'utf8');
    at += 1;
    out.writeInt16BE(0, at); // let the server infer every parameter type
    at += 2;

    header('B', bindLength);
    at += 2; // unnamed portal, unnamed statement
    out.writeInt16BE(params.length, at);
    at += 2;
    for (const value of params) {
      out.writeInt16BE(value !== null && isSecret(value) ? FORMAT_BINARY : FORMAT_TEXT, at);
      at += 2;
    }
    out.writeInt16BE(params.length, at);
    at += 2;
    params.forEach((value, index) => {
      if (value === null) {
        out.writeInt32BE(-1, at);
        at += 4;
        return;
      }
      const lengthAt = at;
      at += 4;
      const written = isSecret(value) ? value.writeTo(out, at) : plain[index]!.copy(out, at);
      out.writeInt32BE(written, lengthAt);
      at += written;
    });
    out.writeInt16BE(1, at); // one result format code for all columns:
    at += 2;
    out.writeInt16BE(FORMAT_TEXT, at);
    at += 2;

    header('D', describeLength);
    out[at++] = 'P'.charCodeAt(0);
    at += 1;

    header('E', executeLength);
    at += 1; // unnamed portal
    out.writeInt32BE(0, at); // no row limit
    at += 4;

    header('S', syncLength);
    return lease;
  } catch (error) {
    // Whatever throws mid-build (a Secret refusing the write) must not strand the slab.
    lease.release();
    throw error;
  }
}

/** The part of a socket writeExtendedQuery needs. */
export interface WireStream {
  write(chunk: Uint8Array, callback: (error?: Error | null) => void): boolean;
}

/**
 * Sends one extended-query exchange in a write of its own. The socket must be past its TLS
 * handshake (pg only submits on a ready connection), so the write is encrypted from the
 * lease rather than copied. The lease is released (zeroed, then reusable) only in the write
 * callback: a slab reused while the socket still reads it would send another query's secrets.
 */
export function writeExtendedQuery(stream: WireStream, sql: string, params: readonly WireParam[], pool: SecureBufferPool = secureBuffers()): void {
  const lease = encodeExtendedQuery(sql, params, (length) => pool.acquire(length));
  try {
    stream.write(lease.bytes, () => lease.release());
  } catch (error) {
    lease.release();
    throw error;
  }
}

/** Message codes a backend may send during one extended-query exchange (§55.7). */
const EXPECTED_CODES = new Set([...'123ACDEINSTZnstv'].map((c) => c.charCodeAt(0)));
const ROW_DESCRIPTION = 'T'.charCodeAt(0);
const DATA_ROW = 'D'.charCodeAt(0);
const READY_FOR_QUERY = 'Z'.charCodeAt(0);
const ERROR_RESPONSE = 'E'.charCodeAt(0);
const NOTICE_RESPONSE = 'N'.charCodeAt(0);
const SQLSTATE_FIELD = 'C'.charCodeAt(0);
/** Longest RowDescription we buffer (column names are not sensitive, but stay bounded). */
const MAX_DESCRIPTION = 64 * 1024;
const MAX_MESSAGE = 64 * 1024 * 1024;

export interface ResultTapOptions {
  /** Sensitive column name → the kind of secret its value becomes. */
  sensitiveColumns: ReadonlyMap<string, SecretKind>;
  /** Longest value a sensitive column may have. */
  maxSecretBytes: number;
  importer: SecretImporter | undefined;
  /** Where sensitive fields and error texts are staged; the process-wide pool by default. */
  buffers?: SecureBufferPool;
}

export type TapFailure = 'desync' | 'secret-too-long' | 'no-cell';

type Phase = 'header' | 'skip' | 'description' | 'report' | 'row-count' | 'field-length' | 'field' | 'done';

/**
 * Incremental framing of the backend's replies. feed() must see every chunk, in order,
 * before pg's parser does; it zeroes sensitive field bytes in place.
 */
export class ResultTap {
  private phase: Phase = 'header';
  private readonly headerBytes = Buffer.alloc(5);
  private headerFill = 0;
  private code = 0;
  private remaining = 0;
  private description: SecureLease | undefined;
  private descriptionFill = 0;
  private sensitiveIndex = new Map<number, SecretKind>();
  private readonly counter = Buffer.alloc(4);
  private counterFill = 0;
  private fieldsLeft = 0;
  private fieldIndex = 0;
  private fieldLeft = 0;
  private staging: SecureLease | undefined;
  private stagingFill = 0;
  private currentRow: Map<number, Secret> | undefined;
  /** Secrets of each DataRow, in arrival order, keyed by column index. */
  readonly rows: Array<Map<number, Secret>> = [];
  failure: TapFailure | undefined;
  /** SQLSTATE of an ErrorResponse; its texts (which may quote a bound value) are zeroed. */
  sqlState: string | undefined;
  /** A refused secret: framing (and zeroing) goes on to the end, then this becomes the failure. */
  private refusal: TapFailure | undefined;

  private readonly buffers: SecureBufferPool;

  constructor(private readonly options: ResultTapOptions) {
    this.buffers = options.buffers ?? secureBuffers();
  }

  get finished(): boolean {
    return this.phase === 'done' || this.failure !== undefined;
  }

  feed(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && !this.finished) at = this.step(chunk, at);
    // Lost framing: we can no longer tell where sensitive bytes are, so none of the rest
    // reaches pg's parser readable; the owner destroys the connection.
    if (this.failure === 'desync') chunk.fill(0, at);
  }

  /** Zeroes and releases any partially collected secret or message (on failure or abandonment). */
  discard(): void {
    this.staging?.release();
    this.staging = undefined;
    this.description?.release();
    this.description = undefined;
  }

  private step(chunk: Buffer, at: number): number {
    switch (this.phase) {
      case 'header': {
        const take = Math.min(5 - this.headerFill, chunk.length - at);
        chunk.copy(this.headerBytes, this.headerFill, at, at + take);
        this.headerFill += take;
        if (this.headerFill === 5) this.startMessage();
        return at + take;
      }
      case 'skip': {
        const take = Math.min(this.remaining, chunk.length - at);
        this.remaining -= take;
        if (this.remaining === 0) this.endMessage();
        return at + take;
      }
      case 'description': {
        const take = Math.min(this.remaining, chunk.length - at);
        chunk.copy(this.description!.bytes, this.descriptionFill, at, at + take);
        this.descriptionFill += take;
        this.remaining -= take;
        if (this.remaining === 0) {
          this.readDescription();
          this.endMessage();
        }
        return at + take;
      }
      case 'report': {
        const take = Math.min(this.remaining, chunk.length - at);
        chunk.copy(this.description!.bytes, this.descriptionFill, at, at + take);
        chunk.fill(0, at, at + take);
        this.descriptionFill += take;
        this.remaining -= take;
        if (this.remaining === 0) {
          this.readReport();
          this.endMessage();
        }
        return at + take;
      }
      case 'row-count':
      case 'field-length': {
        const size = this.phase === 'row-count' ? 2 : 4;
        const take = Math.min(size - this.counterFill, chunk.length - at);
        chunk.copy(this.counter, this.counterFill, at, at + take);
        this.counterFill += take;
        this.remaining -= take;
        if (this.counterFill === size) {
          this.counterFill = 0;
          if (this.phase === 'row-count') {
            this.fieldsLeft = this.counter.readInt16BE(0);
            this.fieldIndex = 0;
            this.currentRow = new Map();
            this.nextField();
          } else {
            this.startField(this.counter.readInt32BE(0));
          }
        }
        return at + take;
      }
      case 'field': {
        const take = Math.min(this.fieldLeft, chunk.length - at);
        if (this.staging) {
          chunk.copy(this.staging.bytes, this.stagingFill, at, at + take);
          this.stagingFill += take;
          chunk.fill(0, at, at + take);
        }
        this.fieldLeft -= take;
        this.remaining -= take;
        if (this.fieldLeft === 0) this.finishField();
        return at + take;
      }
      case 'done':
        return chunk.length;
    }
  }

  private startMessage(): void {
    this.headerFill = 0;
    this.code = this.headerBytes[0]!;
    const length = this.headerBytes.readInt32BE(1);
    if (!EXPECTED_CODES.has(this.code) || length < 4 || length > MAX_MESSAGE) {
      this.failure = 'desync';
      return;
    }
    this.remaining = length - 4;
    if (this.code === ROW_DESCRIPTION && this.options.sensitiveColumns.size > 0) {
      if (this.remaining > MAX_DESCRIPTION) {
        this.failure = 'desync';
        return;
      }
      this.description = this.buffers.acquire(this.remaining);
      this.descriptionFill = 0;
      this.phase = 'description';
    } else if (this.code === ERROR_RESPONSE || this.code === NOTICE_RESPONSE) {
      // Error and notice texts can quote parameter values ("invalid input syntax for
      // type …: "<value>""); pg would turn them into strings. Keep only the SQLSTATE.
      if (this.remaining > MAX_DESCRIPTION) {
        this.failure = 'desync';
        return;
      }
      this.description = this.buffers.acquire(this.remaining);
      this.descriptionFill = 0;
      this.phase = 'report';
    } else if (this.code === DATA_ROW && this.sensitiveIndex.size > 0) {
      this.phase = 'row-count';
    } else {
      this.phase = 'skip';
    }
    if (this.remaining === 0 && this.phase !== 'row-count') {
      // An empty RowDescription or report has nothing to read; its lease goes straight back.
      this.description?.release();
      this.description = undefined;
      this.endMessage();
    }
  }

  private endMessage(): void {
    if (this.code !== READY_FOR_QUERY) {
      this.phase = 'header';
      return;
    }
    this.phase = 'done';
    if (this.refusal) this.failure = this.refusal;
  }

  /** RowDescription (§55.7): int16 count, then per field: name, int32, int16, int32, int16, int32, int16. */
  private readDescription(): void {
    const lease = this.description!;
    this.description = undefined;
    try {
      const body = lease.bytes;
      const count = body.readInt16BE(0);
      let at = 2;
      for (let index = 0; index < count; index += 1) {
        const end = body.indexOf(0, at);
        if (end < 0) {
          this.failure = 'desync';
          return;
        }
        const kind = this.options.sensitiveColumns.get(body.toString('utf8', at, end));
        if (kind !== undefined) this.sensitiveIndex.set(index, kind);
        at = end + 1 + 18;
      }
    } finally {
      lease.release();
    }
  }

  /** ErrorResponse fields (§55.8): a type byte, a C string, …, then a zero byte. */
  private readReport(): void {
    const lease = this.description!;
    this.description = undefined;
    const body = lease.bytes;
    let at = 0;
    while (at < body.length && body[at] !== 0) {
      const type = body[at]!;
      const end = body.indexOf(0, at + 1);
      if (end < 0) break;
      if (type === SQLSTATE_FIELD && this.code === ERROR_RESPONSE && end - at - 1 === 5) {
        this.sqlState = body.toString('latin1', at + 1, end);
      }
      at = end + 1;
    }
    lease.release();
  }

  private nextField(): void {
    if (this.fieldsLeft === 0) {
      this.rows.push(this.currentRow!);
      this.currentRow = undefined;
      if (this.remaining !== 0) this.failure = 'desync';
      else this.endMessage();
      return;
    }
    this.phase = 'field-length';
  }

  private startField(length: number): void {
    this.fieldsLeft -= 1;
    const kind = this.sensitiveIndex.get(this.fieldIndex);
    if (length <= 0) {
      // NULL (-1) or empty: nothing to protect; the row keeps the decoded value.
      this.fieldIndex += 1;
      this.nextField();
      return;
    }
    if (length > this.remaining) {
      this.failure = 'desync';
      return;
    }
    this.fieldLeft = length;
    if (kind !== undefined) {
      if (length > this.options.maxSecretBytes) this.refusal = 'secret-too-long';
      else if (!this.options.importer) this.refusal = 'no-cell';
      // A refused field is still collected and zeroed, so it never reaches pg's parser.
      this.staging = this.buffers.acquire(length);
      this.stagingFill = 0;
    }
    this.phase = 'field';
  }

  private finishField(): void {
    const kind = this.sensitiveIndex.get(this.fieldIndex);
    if (this.staging && kind !== undefined && this.refusal === undefined) {
      // importSecret copies into the arena and zeroes the staging buffer.
      this.currentRow!.set(this.fieldIndex, this.options.importer!.importSecret(kind, this.staging.bytes));
    }
    this.discard();
    this.fieldIndex += 1;
    this.nextField();
  }
}
