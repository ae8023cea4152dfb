// Buffers for secret bytes must stay where they were written until we zero them.
// Buffer.alloc avoids the shared 8 KiB pool, but V8 keeps typed arrays of up to 64 bytes
// inside its own heap, where the garbage collector moves them and leaves the old copy
// behind in memory it does not clear. Anything larger lives in fixed off-heap memory.
const V8_ON_HEAP_LIMIT = 64;

/** A zero-filled buffer of `length` bytes that the garbage collector never moves. */
export function fixedBuffer(length: number): Buffer {
  return Buffer.alloc(Math.max(length, V8_ON_HEAP_LIMIT + 1)).subarray(0, length);
}
