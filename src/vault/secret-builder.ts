// Secure gather: key presses go from the DTMF decoder straight into one arena slot as
// ASCII bytes. The gather's timers learn only the outcome of each press, never the key.
import sodium from 'sodium-native';
import { DTMF_POUND, DTMF_STAR } from './types.ts';
import type { DtmfCode, KeyPushResult, KeySink, Secret, SecretKind } from './types.ts';
import type { CellLease } from './lease.ts';
import { secretFromSlot } from './secret.ts';
import { BuilderFinishedError, SecretRangeError, SecretWipedError } from './errors.ts';

export interface SecretBuilderOptions {
  kind: SecretKind;
  /** Most keys kept; the key that reaches it answers 'full'. At most the arena slot size. */
  maxLength: number;
  /** Key that ends the entry (not stored); null for none. Default '#'. */
  terminator?: DtmfCode | null;
  /** Store '*' as a character instead of rejecting it. Default false. */
  allowStar?: boolean;
}

const ASCII_ZERO = 0x30;
const ASCII_STAR = 0x2a;
const HIGHEST_DTMF_EVENT = 15; // RFC 4733 §3.2: events 0-15 are DTMF

export class SecretBuilder implements KeySink {
  readonly kind: SecretKind;
  readonly maxLength: number;
  readonly #lease: CellLease;
  readonly #offset: number;
  readonly #terminator: DtmfCode | null;
  readonly #allowStar: boolean;
  #count = 0;
  #finished = false;

  constructor(lease: CellLease, options: SecretBuilderOptions) {
    if (!Number.isInteger(options.maxLength) || options.maxLength < 1 || options.maxLength > lease.slotSize) {
      throw new SecretRangeError('secure gather maxLength must be between 1 and the arena slot size');
    }
    this.#lease = lease;
    this.kind = options.kind;
    this.maxLength = options.maxLength;
    this.#terminator = options.terminator === undefined ? DTMF_POUND : options.terminator;
    this.#allowStar = options.allowStar ?? false;
    this.#offset = lease.allocate();
  }

  /**
   * 'stored': kept, room left. 'full': kept, and maxLength is now reached.
   * 'terminator': the end key (not kept). 'rejected': not kept (not allowed, or no room).
   */
  pushKey(code: DtmfCode): KeyPushResult {
    this.#assertOpen();
    if (code === this.#terminator) return 'terminator';
    const byte = this.#byteFor(code);
    if (byte === null || this.#count >= this.maxLength) return 'rejected';
    const at = this.#offset + this.#count;
    this.#lease.read((memory) => {
      memory[at] = byte;
    });
    this.#count += 1;
    return this.#count === this.maxLength ? 'full' : 'stored';
  }

  /** Keys stored so far (the gather's min-length check needs it). */
  count(): number {
    this.#assertOpen();
    return this.#count;
  }

  /** Zeroes what was keyed so the caller can try again in the same slot. */
  clear(): void {
    this.#assertOpen();
    this.#lease.read((memory) => {
      sodium.sodium_memzero(memory.subarray(this.#offset, this.#offset + this.maxLength));
    });
    this.#count = 0;
  }

  /** Hands the slot over to a Secret; the builder takes no more keys. */
  finish(): Secret {
    this.#assertOpen();
    this.#finished = true;
    return secretFromSlot(this.#lease, this.kind, this.#offset, this.#count);
  }

  #byteFor(code: DtmfCode): number | null {
    if (!Number.isInteger(code) || code < 0 || code > HIGHEST_DTMF_EVENT) return null;
    if (code <= 9) return ASCII_ZERO + code;
    if (code === DTMF_STAR && this.#allowStar) return ASCII_STAR;
    return null;
  }

  #assertOpen(): void {
    if (!this.#lease.live) throw new SecretWipedError();
    if (this.#finished) throw new BuilderFinishedError();
  }
}
