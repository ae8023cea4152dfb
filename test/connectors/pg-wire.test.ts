import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResultTap, writeExtendedQuery, type WireParam } from '../../src/connectors/pg-wire.ts';
import { SecureBufferPool } from '../../src/connectors/secure-buffers.ts';
import type { Secret } from '../../src/vault/types.ts';
import { RecordingCell, secretDigits, testSecret } from './cells.ts';

function message(code: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header[0] = code.charCodeAt(0);
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

function int16(value: number): Buffer {
  const out = Buffer.alloc(2);
  out.writeInt16BE(value);
  return out;
}

function int32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeInt32BE(value);
  return out;
}

function rowDescription(names: string[]): Buffer {
  const parts = [int16(names.length)];
  for (const name of names) parts.push(Buffer.from(`${name}\0`), int32(0), int16(0), int32(25), int16(-1), int32(-1), int16(0));
  return message('T', Buffer.concat(parts));
}

function dataRow(values: Array<string | null>): Buffer {
  const parts = [int16(values.length)];
  for (const value of values) {
    if (value === null) parts.push(int32(-1));
    else parts.push(int32(Buffer.byteLength(value)), Buffer.from(value));
  }
  return message('D', Buffer.concat(parts));
}

const ready = message('Z', Buffer.from('I'));
const reply = Buffer.concat([
  message('1', Buffer.alloc(0)),
  message('2', Buffer.alloc(0)),
  rowDescription(['id', 'citation', 'violation']),
  dataRow(['1', '12345678', 'expired meter']),
  dataRow(['2', '23456789', null]),
  message('C', Buffer.from('SELECT 2\0')),
  ready,
]);

/** The bytes writeExtendedQuery sends, copied before its write callback releases the lease. */
function buildExtendedQuery(sql: string, params: readonly WireParam[]): Buffer {
  let copy = Buffer.alloc(0);
  writeExtendedQuery({ write: (chunk, done) => { copy = Buffer.from(chunk); done(); return true; } }, sql, params);
  return copy;
}

test('extended query bytes: Parse, Bind (secret binary, plain text, NULL), Describe, Execute, Sync', () => {
  const out = buildExtendedQuery('SELECT $1, $2, $3', [testSecret('account', '12345678'), 'CA', null]);
  const expected = Buffer.concat([
    message('P', Buffer.concat([Buffer.from('\0SELECT $1, $2, $3\0'), int16(0)])),
    message('B', Buffer.concat([
      Buffer.from('\0\0'),
      int16(3), int16(1), int16(0), int16(0),
      int16(3), int32(8), Buffer.from('12345678'), int32(2), Buffer.from('CA'), int32(-1),
      int16(1), int16(0),
    ])),
    message('D', Buffer.from('P\0')),
    message('E', Buffer.concat([Buffer.from('\0'), int32(0)])),
    message('S', Buffer.alloc(0)),
  ]);
  assert.deepEqual(out, expected);
});

test('writeExtendedQuery sends the message in one write from a lease and releases it only in the write callback', () => {
  const pool = new SecureBufferPool([{ size: 256, maxSlabs: 1 }]);
  const writes: Array<{ chunk: Uint8Array; done: (error?: Error | null) => void }> = [];
  const params = [testSecret('account', '12345678'), 'CA', null];
  writeExtendedQuery({ write: (chunk, done) => writes.push({ chunk, done }) > 0 }, 'SELECT $1, $2, $3', params, pool);
  assert.equal(writes.length, 1);
  const { chunk, done } = writes[0]!;
  assert.deepEqual(Buffer.from(chunk), buildExtendedQuery('SELECT $1, $2, $3', params));
  // Still in flight: the slab stays leased and untouched.
  assert.equal(pool.stats().inUse, 1);
  assert.notEqual(Buffer.from(chunk).indexOf('12345678'), -1);
  done();
  assert.ok(chunk.every((byte) => byte === 0));
  assert.deepEqual(pool.stats(), { slabs: 1, inUse: 0, fallbacks: 0, locked: pool.stats().locked });
});

test('writeExtendedQuery releases the lease when the stream throws', () => {
  const pool = new SecureBufferPool([{ size: 256, maxSlabs: 1 }]);
  const broken = { write: (): boolean => { throw new Error('stream gone'); } };
  assert.throws(() => writeExtendedQuery(broken, 'SELECT $1', [testSecret('account', '12345678')], pool), /stream gone/);
  assert.equal(pool.stats().inUse, 0);
});

test('writeExtendedQuery releases the lease when a Secret refuses the write mid-build', () => {
  const pool = new SecureBufferPool([{ size: 256, maxSlabs: 1 }]);
  const refusing = { length: () => 4, writeTo: (): number => { throw new Error('wiped'); } } as unknown as Secret;
  assert.throws(() => writeExtendedQuery({ write: () => assert.fail('nothing may be written') }, 'SELECT $1', [refusing], pool), /wiped/);
  assert.equal(pool.stats().inUse, 0);
});

test('result tap stages sensitive fields and error texts in pool slabs and gives every one back', () => {
  const pool = new SecureBufferPool([{ size: 64, maxSlabs: 2 }, { size: 1024, maxSlabs: 2 }]);
  const cell = new RecordingCell();
  const tap = new ResultTap({ sensitiveColumns: new Map([['citation', 'account']]), maxSecretBytes: 16, importer: cell, buffers: pool });
  const error = message('N', Buffer.from('SNOTICE\0Mvalue "4111111111111111"\0\0'));
  tap.feed(Buffer.concat([error, reply]));
  assert.equal(tap.failure, undefined);
  const stats = pool.stats();
  assert.equal(stats.inUse, 0);
  assert.equal(stats.fallbacks, 0);
  assert.ok(stats.slabs > 0);
  cell.cell.release('completed');
});

test('result tap abandoned mid-field gives its staging slab back on discard', () => {
  const pool = new SecureBufferPool([{ size: 64, maxSlabs: 1 }, { size: 1024, maxSlabs: 1 }]);
  const tap = new ResultTap({ sensitiveColumns: new Map([['citation', 'account']]), maxSecretBytes: 16, importer: new RecordingCell(), buffers: pool });
  const cut = reply.indexOf('1234567');
  tap.feed(Buffer.from(reply.subarray(0, cut + 3)));
  assert.equal(pool.stats().inUse, 1);
  tap.discard();
  tap.discard();
  assert.equal(pool.stats().inUse, 0);
  const next = pool.acquire(64);
  assert.ok(next.bytes.every((byte) => byte === 0));
});

test('result tap moves sensitive fields into the cell and zeroes them in the chunk, at every split point', () => {
  for (let split = 1; split < reply.length; split += 1) {
    const cell = new RecordingCell();
    const tap = new ResultTap({ sensitiveColumns: new Map([['citation', 'account']]), maxSecretBytes: 16, importer: cell });
    const wire = Buffer.from(reply);
    const first = wire.subarray(0, split);
    const second = wire.subarray(split);
    tap.feed(first);
    tap.feed(second);
    assert.equal(tap.failure, undefined, `split ${split}`);
    assert.equal(tap.finished, true);
    assert.equal(tap.rows.length, 2);
    assert.equal(secretDigits(tap.rows[0]!.get(1)), '12345678');
    assert.equal(secretDigits(tap.rows[1]!.get(1)), '23456789');
    assert.equal(wire.indexOf('12345678'), -1, `split ${split}: citation left in the chunk`);
    assert.equal(wire.indexOf('23456789'), -1);
    // Non-sensitive columns are untouched for pg's parser.
    assert.notEqual(wire.indexOf('expired meter'), -1);
    for (const source of cell.sources) assert.ok(source.every((byte) => byte === 0));
    cell.cell.release('completed');
  }
});

test('result tap keeps only the SQLSTATE of an error and zeroes its texts', () => {
  const error = message('E', Buffer.from('SERROR\0C22P02\0Minvalid input syntax for type integer: "4111111111111111"\0\0'));
  const wire = Buffer.concat([message('1', Buffer.alloc(0)), error, ready]);
  const tap = new ResultTap({ sensitiveColumns: new Map(), maxSecretBytes: 16, importer: undefined });
  tap.feed(wire);
  assert.equal(tap.sqlState, '22P02');
  assert.equal(wire.indexOf('4111111111111111'), -1);
  assert.equal(tap.finished, true);
});

test('result tap refuses an oversized sensitive value but still zeroes it', () => {
  const wire = Buffer.from(reply);
  const tap = new ResultTap({ sensitiveColumns: new Map([['citation', 'account']]), maxSecretBytes: 4, importer: new RecordingCell() });
  tap.feed(wire);
  assert.equal(tap.failure, 'secret-too-long');
  assert.equal(wire.indexOf('12345678'), -1);
});

test('result tap stops on an unknown message code and blanks the rest of the chunk', () => {
  const wire = Buffer.concat([message('?', Buffer.from('x')), dataRow(['12345678'])]);
  const tap = new ResultTap({ sensitiveColumns: new Map([['citation', 'account']]), maxSecretBytes: 16, importer: new RecordingCell() });
  tap.feed(wire);
  assert.equal(tap.failure, 'desync');
  assert.equal(wire.indexOf('12345678'), -1);
});
