// Types for the part of sodium-native (libsodium bindings) the vault uses.
// The package ships no declarations; only the secure-memory helpers are described here.
declare module 'sodium-native' {
  /** Guarded, mlock'd allocation (libsodium sodium_malloc): guard pages around it, canary before it. */
  export function sodium_malloc(size: number): Buffer;
  export function sodium_free(buf: Buffer): void;
  /** Zeroes the bytes in a way the compiler cannot elide. */
  export function sodium_memzero(buf: ArrayBufferView): void;
  /** Locks the pages (mlock + MADV_DONTDUMP); throws when the kernel refuses. */
  export function sodium_mlock(buf: ArrayBufferView): void;
  export function sodium_mprotect_noaccess(buf: Buffer): void;
  export function sodium_mprotect_readonly(buf: Buffer): void;
  export function sodium_mprotect_readwrite(buf: Buffer): void;
  /** Constant-time comparison of equal-length buffers. */
  export function sodium_memcmp(a: ArrayBufferView, b: ArrayBufferView): boolean;
  export function sodium_is_zero(buf: ArrayBufferView, length?: number): boolean;
}
