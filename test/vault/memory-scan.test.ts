// The canary test in miniature, for the vault alone: the RAM scraper finds a canary a
// process keeps as a JS string or as key-code bytes, and finds nothing in a process that
// gathered the same kind of value through SecretBuilder and then wiped its cell.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { once } from 'node:events';
import { randomInt } from 'node:crypto';
import { CanaryMatcher, canaryForms, countIn, parseMaps, scanBytes, scanProcessMemory } from '../support/memory-scan.ts';

const root = new URL('../../', import.meta.url).pathname;
const CANARY_DIGITS = 16;
// Keeps the child alive until the parent has scanned it and kills it.
const KEEP_ALIVE = 'setTimeout(() => {}, 2 ** 30);';

type Child = ChildProcessByStdio<null, Readable, null>;

function startChild(script: string, args: string[] = []): Child {
  return spawn(process.execPath, ['--import', 'tsx', '--expose-gc', '--input-type=module', '-e', script, '--', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

/** Resolves with everything the child wrote before its "ready" line. */
async function untilReady(child: Child): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of child.stdout) {
    chunks.push(chunk as Buffer);
    const all = Buffer.concat(chunks);
    const at = all.indexOf('ready\n');
    if (at !== -1) return all.subarray(0, at);
  }
  throw new Error('child ended before it was ready');
}

async function stop(child: Child): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const closed = once(child, 'close');
  child.kill('SIGKILL');
  await closed;
}

function testCanary(): string {
  let canary = '';
  for (let i = 0; i < CANARY_DIGITS; i++) canary += String(randomInt(10));
  return canary;
}

test('maps lines are parsed, pseudo-mappings included for the scanner to skip', () => {
  const maps = parseMaps(
    [
      '55d0c0a00000-55d0c0a21000 r--p 00000000 08:01 131 /usr/bin/node',
      '7ffd1b7f0000-7ffd1b7f4000 r--p 00000000 00:00 0                          [vvar]',
      '7f00aa000000-7f00aa001000 ---p 00000000 00:00 0 ',
    ].join('\n'),
  );
  assert.deepEqual(maps.map((m) => [m.perms, m.name]), [['r--p', '/usr/bin/node'], ['r--p', '[vvar]'], ['---p', '']]);
  assert.equal(maps[0]!.end - maps[0]!.start, 0x21000n);
});

test('the three canary forms are ASCII, UTF-16LE and one key value per byte', () => {
  const forms = canaryForms('4019');
  assert.deepEqual(forms.ascii, Buffer.from([0x34, 0x30, 0x31, 0x39]));
  assert.deepEqual(forms.utf16le, Buffer.from([0x34, 0, 0x30, 0, 0x31, 0, 0x39, 0]));
  assert.deepEqual(forms.digitBytes, Buffer.from([4, 0, 1, 9]));
});

test('a match across a chunk boundary is counted once', () => {
  const needle = Buffer.from('1234');
  // Second chunk: 3 bytes carried from the first ("x12"), then new bytes "34yy1234".
  const chunk = Buffer.from('x1234yy1234');
  assert.equal(countIn(chunk, chunk.length, needle, 3), 2);
  assert.equal(countIn(chunk, chunk.length, needle, 5), 1, 'a match wholly inside the carried bytes was counted before');
  assert.equal(countIn(chunk, 8, needle, 0), 1, 'bytes past the read length are stale');
});

test('many canaries: one pass per form finds each form, zero pages and near misses included', () => {
  const canaries = Array.from({ length: 40 }, (_, i) => `${1000 + i}${testCanary().slice(4).replaceAll('0', '7')}`);
  const [first, second, third] = canaries as [string, string, string];
  const forms = canaryForms(first);
  const nearMiss = Buffer.from(`${second.slice(0, -1)}${(Number(second.at(-1)) + 1) % 10}`, 'latin1');
  const haystack = Buffer.concat([
    Buffer.alloc(4096),
    forms.ascii,
    Buffer.from('99'),
    forms.ascii,
    forms.utf16le,
    Buffer.from([0x41]),
    canaryForms(third).utf16le.subarray(1), // a form missing its first byte is no match
    Buffer.from([0x42]),
    forms.digitBytes,
    nearMiss,
    Buffer.alloc(4096),
  ]);
  const result = scanBytes(haystack, canaries);
  assert.deepEqual(result.counts.get(first), { ascii: 2, utf16le: 1, digitBytes: 1 });
  assert.deepEqual(result.counts.get(second), { ascii: 0, utf16le: 0, digitBytes: 0 }, 'one digit off is no match');
  assert.equal(result.total, 4, 'the third canary was cut: its first byte is missing');
  // Matches ending inside the bytes carried from the previous chunk were counted already.
  const counts = new Map(canaries.map((c) => [c, { ascii: 0, utf16le: 0, digitBytes: 0 }]));
  new CanaryMatcher(canaries).count(haystack, haystack.length, 4096 + first.length, counts);
  assert.deepEqual(counts.get(first), { ascii: 1, utf16le: 1, digitBytes: 1 });
});

test('the scraper finds a canary kept as a JS string, a two-byte string and key-code bytes', { timeout: 120_000 }, async () => {
  const canary = testCanary();
  const child = startChild(
    [
      'const canary = process.argv.at(-1);',
      // join() makes flat strings; the snowman forces V8 to store the second one as UTF-16.
      "globalThis.kept = [[...canary, ' '].join(''), [...canary, '\\u2603'].join(''), Buffer.from([...canary].map((d) => d.charCodeAt(0) - 48))];",
      "process.stdout.write('ready\\n');",
      KEEP_ALIVE,
    ].join('\n'),
    [canary],
  );
  try {
    await untilReady(child);
    const result = scanProcessMemory(child.pid!, [canary]);
    const counts = result.counts.get(canary)!;
    assert.ok(result.bytesScanned > 1_000_000);
    assert.ok(counts.ascii > 0, 'ASCII form found');
    assert.ok(counts.utf16le > 0, 'UTF-16LE form found');
    assert.ok(counts.digitBytes > 0, 'key-byte form found');
  } finally {
    await stop(child);
  }
});

test('a canary gathered through SecretBuilder leaves no residue once its cell is wiped', { timeout: 120_000 }, async () => {
  // The child makes up the canary itself, one random key at a time straight into the arena,
  // and hands it to this process by writing from locked memory to the pipe: it never exists
  // in the child outside the arena (and a wiped sodium buffer).
  const child = startChild(
    [
      "import { writeSync } from 'node:fs';",
      "import { randomInt } from 'node:crypto';",
      "import sodium from 'sodium-native';",
      "import { CellPool } from './src/vault/index.ts';",
      'const pool = new CellPool({ cells: 2 });',
      'const cell = pool.acquire();',
      `const builder = cell.secretBuilder({ kind: 'pan', maxLength: ${CANARY_DIGITS} });`,
      `for (let i = 0; i < ${CANARY_DIGITS}; i++) builder.pushKey(randomInt(10));`,
      'const secret = builder.finish();',
      `const wire = sodium.sodium_malloc(${CANARY_DIGITS});`,
      'secret.writeTo(wire, 0);',
      `writeSync(1, wire, 0, ${CANARY_DIGITS});`,
      'sodium.sodium_memzero(wire);',
      "const report = cell.release('completed');",
      'if (!report.wipe.verified) process.exit(2);',
      'globalThis.gc(); globalThis.gc();',
      "writeSync(1, 'ready\\n');",
      KEEP_ALIVE,
    ].join('\n'),
  );
  try {
    const canary = (await untilReady(child)).toString('latin1');
    assert.match(canary, new RegExp(`^[0-9]{${CANARY_DIGITS}}$`));
    const result = scanProcessMemory(child.pid!, [canary]);
    assert.ok(result.bytesScanned > 1_000_000);
    assert.deepEqual(result.counts.get(canary), { ascii: 0, utf16le: 0, digitBytes: 0 });
  } finally {
    await stop(child);
  }
});
