// The vault's public contract: what every other layer may rely on.
// Implementations live beside this file; callers import only these types and the factories.

/** RFC 4733 §3.2 event codes for DTMF: 0-9 digits, 10 '*', 11 '#', 12-15 'A'-'D'. */
export type DtmfCode = number;

export const DTMF_STAR: DtmfCode = 10;
export const DTMF_POUND: DtmfCode = 11;

/** What a secure gather may hold. Drives validation and what read-back is allowed. */
export type SecretKind = 'pan' | 'expiry' | 'cvv' | 'pin' | 'account' | 'zip' | 'digits';

export type CardBrand = 'visa' | 'mastercard' | 'amex' | 'discover' | 'unknown';

declare const secretBrand: unique symbol;

/**
 * A handle to bytes held in a call cell's locked arena. It has no string form and
 * every operation on it works without materialising the value as a JS string or number.
 * After the cell is wiped every method throws SecretWipedError.
 */
export interface Secret {
  readonly [secretBrand]: true;
  readonly kind: SecretKind;
  /** Number of stored characters (ASCII digits; '*'/'#' only where the kind allows). */
  length(): number;
  /** True when every byte is an ASCII digit. */
  isAllDigits(): boolean;
  /** Constant-time equality with another secret (false when lengths differ). */
  equals(other: Secret): boolean;
  /** Luhn (mod 10) check over the digits, without copying them out. */
  luhnValid(): boolean;
  /** Card brand from the IIN prefix and length. */
  cardBrand(): CardBrand;
  /** For kind 'expiry' (MMYY): a real month and not before the given month. */
  expiryValid(now: Date): boolean;
  /** PCI DSS 3.4.1 read-back: the last four digits; only for 'pan' and 'account' of 8+ digits. */
  last4(): string;
  /** Copies the ASCII bytes into a caller-owned buffer (a connector's wire buffer); returns bytes written. */
  writeTo(target: Uint8Array, offset: number): number;
  /**
   * Maps each digit to an item of a 10-entry table (e.g. audio clips) for digit-by-digit speech.
   * Refused (SecretKindError) for 'pan' and 'cvv': PCI DSS 3.4 — read those back with last4().
   */
  spell<T>(digitTable: readonly T[]): T[];
}

/** Receives key presses of a secure gather, one event code at a time, straight into the arena. */
export interface KeySink {
  /** Stores one key; returns what happened so the gather's timers can react without seeing the key. */
  pushKey(code: DtmfCode): KeyPushResult;
}

/**
 * 'stored': kept, room left. 'full': kept, and the gather's max length is now reached.
 * 'terminator': the end key, not kept. 'rejected': not kept (key not allowed, or no room).
 */
export type KeyPushResult = 'stored' | 'terminator' | 'full' | 'rejected';
