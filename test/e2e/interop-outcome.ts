// What the real server's own lines say about one interop call, checked the same way for every
// peer: the flow (interop-flow.ts) took each entry with exactly its keys, heard nothing more in its
// quiet window, and the call ended `completed` with one record and a verified wipe. Only counts
// and outcomes are read: the server never logs a key.
import assert from 'node:assert/strict';
import type { ServerEvent } from './interop-server.ts';

export function assertKeysOnceAndCompleted(events: readonly ServerEvent[], entries: readonly string[]): ServerEvent {
  const failures = events.filter((e) => e.msg === 'flow failed').map((e) => String(e.code));
  assert.deepEqual(failures, [], 'the flow failed: keys-mismatch = an entry was not keyed exactly once each; keys-extra = a late duplicate');
  const gathers = events.filter((e) => e.event === 'gather.done').map((e) => [e.outcome, e.keys]);
  // Each entry ended by its terminator with as many digits as were keyed (terminator not counted), then the quiet window times out.
  assert.deepEqual(gathers, [...entries.map((entry) => ['terminator', entry.length - 1]), ['timeout', 0]]);
  const records = events.filter((e) => e.event === 'cdr');
  assert.equal(records.length, 1, 'one call record');
  const record = records[0]!;
  assert.equal(record.outcome, 'completed');
  assert.equal(record.hangupCause, 'local-bye', 'the flow hung up after its goodbye');
  assert.deepEqual(record.wipe, { bytes: (record.wipe as { bytes: number }).bytes, verified: true });
  return record;
}

/** The event of this name for the call (exactly one). */
export function only(events: readonly ServerEvent[], name: string): ServerEvent {
  const found = events.filter((e) => e.event === name);
  assert.equal(found.length, 1, `one ${name} line`);
  return found[0]!;
}
