import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventFields, EventName } from '../../src/observe/events.ts';
import { EVENTS } from '../../src/observe/events.ts';
import type { LogLevel } from '../../src/observe/logger.ts';
import { createLogger, TurnBatch } from '../../src/observe/logger.ts';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { MaskedCaller } from '../../src/observe/caller-mask.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** One valid value for every field of every event; typed, so a new event without a sample fails the type-check. */
const SAMPLES: { [N in EventName]: Required<EventFields<N>> } = {
  'call.start': { callId: 'c-abc', dialled: '+18005550100', caller: '*4567' as MaskedCaller, app: 'parking', transport: 'tls' },
  'call.answer': { callId: 'c-abc', setupMs: 3.25 },
  'flow.step': { callId: 'c-abc', step: 'main-menu', kind: 'menu' },
  'gather.done': { callId: 'c-abc', step: 'card-number', secure: true, outcome: 'terminator', keys: 16 },
  'menu.choice': { callId: 'c-abc', step: 'main-menu', outcome: 'chosen' },
  'backend.query': { callId: 'c-abc', backend: 'city-db', operation: 'citation-lookup', outcome: 'ok', latencyMs: 4.5, rows: 1 },
  'payment.result': { callId: 'c-abc', gateway: 'test-gateway', result: 'approved', latencyMs: 120 },
  transfer: { callId: 'c-abc', target: 'agents', outcome: 'accepted', latencyMs: 310 },
  'call.end': { callId: 'c-abc', outcome: 'completed', cause: 'caller-bye', durationMs: 95000 },
  'sip.reject': { callId: 'c-abd', method: 'INVITE', status: 503, reason: 'full', transport: 'udp' },
  'sip.trace': { direction: 'in', transport: 'udp', bytes: 21, message: 'OPTIONS sip:ivr SIP/2.0' },
  'media.inactive': { callId: 'c-abc', silentMs: 30000 },
  'cell.wipe': { callId: 'c-abc', cell: 12, bytes: 4096, verified: true, durationMs: 0.042 },
  'server.start': { version: '0.1.0', cells: 1000, memlock: 'locked', sipListeners: 3, adminListener: '127.0.0.1:9090' },
  'vault.shutdown': { callsEnded: 0, cellsWiped: 1000, verified: true },
  'server.drain': { phase: 'started', activeCalls: 12, elapsedMs: 0 },
  'security.warning': { code: 'memlock-failed', detail: 'raise RLIMIT_MEMLOCK: ulimit -l unlimited' },
};

/** A value of the wrong kind for each field kind, to prove values are checked, not just names. */
function wrongValueFor(kind: string): unknown {
  return kind === 'count' || kind === 'ms' ? 'twelve' : kind === 'bool' ? 'yes' : 12;
}

/** A stand-in for the vault's Secret: only its string forms are known here. */
function secretLike(): object {
  return { toJSON: () => '[secret]', toString: () => '[secret]' };
}

function capture(level: LogLevel = 'trace', allowedNumbers: readonly string[] = ['+18005550100']) {
  const lines: string[] = [];
  const logger = createLogger({ level, allowedNumbers, destination: { write: (line: string) => lines.push(line) } });
  const parsed = (): Array<Record<string, unknown>> => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines, parsed };
}

function withoutFrame(line: Record<string, unknown>): Record<string, unknown> {
  const { level: _level, time: _time, ...rest } = line;
  return rest;
}

for (const name of Object.keys(SAMPLES) as EventName[]) {
  const sample = SAMPLES[name] as Record<string, unknown>;
  const spec = EVENTS[name];

  test(`${name}: the sample covers every allowlisted field`, () => {
    assert.deepEqual(Object.keys(sample).sort(), Object.keys(spec.fields).sort());
  });

  test(`${name}: allowlisted fields are written at level ${spec.level}`, () => {
    const { logger, parsed } = capture();
    logger.event(name, sample as never);
    const [line] = parsed();
    assert.equal(line?.level, spec.level);
    const expected: Record<string, unknown> = { event: name, ...sample };
    if (name === 'sip.trace') expected.message = 'OPTIONS sip:ivr SIP/2.0';
    assert.deepEqual(withoutFrame(line!), expected);
    assert.equal(logger.stats().unknownFields, 0);
    assert.equal(logger.stats().maskHits.luhn + logger.stats().maskHits.longRun, 0);
  });

  test(`${name}: fields outside the allowlist are dropped and counted`, () => {
    const { logger, parsed, lines } = capture();
    logger.event(name, { ...sample, digits: '4321', pan: '4111111111111111', note: 'x' } as never);
    const [line] = parsed();
    assert.equal(line?.digits, undefined);
    assert.equal(line?.pan, undefined);
    assert.equal(line?.note, undefined);
    assert.ok(!lines[0]!.includes('4321'));
    assert.equal(logger.stats().unknownFields, 3);
  });

  test(`${name}: each field rejects a value of the wrong kind`, () => {
    for (const [field, fieldSpec] of Object.entries(spec.fields)) {
      const { logger, parsed } = capture();
      logger.event(name, { ...sample, [field]: wrongValueFor(fieldSpec.kind) } as never);
      assert.equal(parsed()[0]?.[field], undefined, `${name}.${field}`);
      assert.equal(logger.stats().invalidFields, 1, `${name}.${field}`);
    }
  });

  test(`${name}: a Secret-like value prints [secret] in any field`, () => {
    for (const field of Object.keys(spec.fields)) {
      const { logger, parsed } = capture();
      logger.event(name, { ...sample, [field]: secretLike() } as never);
      assert.equal(parsed()[0]?.[field], '[secret]', `${name}.${field}`);
    }
  });
}

test('the shared Symbol.for(traceless.secret) marker is recognised without any string form', () => {
  const { logger, parsed } = capture();
  logger.event('flow.step', { callId: { [Symbol.for('traceless.secret')]: true } as never, step: 's1' });
  assert.equal(parsed()[0]?.callId, '[secret]');
});

test('an event below the logger level is not written, and sip.trace needs trace', () => {
  const { logger, lines } = capture('info');
  logger.event('sip.trace', SAMPLES['sip.trace']);
  assert.equal(lines.length, 0);
  logger.event('flow.step', SAMPLES['flow.step']);
  assert.equal(lines.length, 1);
});

test('sip.trace messages are redacted by the logger itself, from text or bytes', () => {
  const { logger, parsed } = capture();
  const raw = 'INFO sip:ivr SIP/2.0\r\nAuthorization: Digest response="abc"\r\nContent-Length: 10\r\n\r\nSignal=5\r\n';
  logger.event('sip.trace', { direction: 'in', transport: 'tcp', bytes: raw.length, message: raw });
  logger.event('sip.trace', { direction: 'in', transport: 'tcp', bytes: raw.length, message: Buffer.from(raw) });
  for (const line of parsed()) {
    assert.equal(line.message, 'INFO sip:ivr SIP/2.0\r\nAuthorization: [redacted]\r\nContent-Length: 10\r\n\r\n[body redacted: 10 bytes]');
  }
});

test('an event outside the vocabulary is not written and is counted', () => {
  const { logger, lines } = capture();
  logger.event('keys.pressed' as EventName, { digits: '1234' } as never);
  assert.equal(lines.length, 0);
  assert.equal(logger.stats().unknownEvents, 1);
});

test('child bindings are allowlisted, appear on every line, and an event field wins over a binding', () => {
  const { logger, parsed } = capture();
  const child = logger.child({ callId: 'c-1', component: 'flow', pin: '1234' } as never);
  child.event('flow.step', { callId: 'c-2', step: 'greeting' });
  child.info('diagnostic');
  const [event, diagnostic] = parsed();
  assert.deepEqual(withoutFrame(event!), { event: 'flow.step', callId: 'c-2', component: 'flow', step: 'greeting' });
  assert.deepEqual(withoutFrame(diagnostic!), { callId: 'c-1', component: 'flow', msg: 'diagnostic' });
  assert.equal(logger.stats().unknownFields, 1);
});

test('diagnostics scrub Secret-like values and byte buffers at any depth and keep their frame', () => {
  const { logger, parsed } = capture();
  logger.warn({ card: secretLike(), wire: Buffer.from('4111'), nested: { list: [1, secretLike()] }, event: 'forged', msg: 'forged' }, 'retrying');
  const [line] = parsed();
  assert.deepEqual(withoutFrame(line!), { card: '[secret]', wire: '[bytes]', nested: { list: [1, '[secret]'] }, msg: 'retrying' });
  assert.equal(line?.event, undefined);
  assert.equal(logger.stats().reservedFields, 2);
});

test('diagnostic errors go through the error serializer', () => {
  const { logger, parsed } = capture();
  logger.error(new Error('backend refused'));
  const [line] = parsed();
  assert.equal((line?.err as { message: string }).message, 'backend refused');
  assert.equal(line?.level, 'error');
});

test('every line, diagnostic or event, passes the masker and is counted as a defect', () => {
  const { logger, lines } = capture('info', []);
  logger.info('card 4111 1111 1111 1111 leaked');
  logger.event('call.start', { ...SAMPLES['call.start'], dialled: '+15551234567' });
  assert.ok(lines[0]!.includes('card [masked] leaked'));
  assert.ok(lines[1]!.includes('"dialled":"+[masked]"'));
  assert.deepEqual(logger.stats().maskHits, { luhn: 1, longRun: 1 });
  for (const line of lines) JSON.parse(line);
});

test('times are ISO strings and durations are rounded, so no line carries a long digit run of its own', () => {
  const { logger, parsed } = capture();
  logger.event('call.answer', { callId: 'c-abc', setupMs: 1.23456789 });
  const [line] = parsed();
  assert.equal(line?.setupMs, 1.235);
  assert.match(String(line?.time), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  assert.deepEqual(logger.stats().maskHits, { luhn: 0, longRun: 0 });
});

test('logging never throws: a failing destination and malformed arguments are counted, not raised', () => {
  const logger = createLogger({
    level: 'info',
    destination: {
      write: () => {
        throw new Error('EIO');
      },
    },
  });
  logger.event('flow.step', SAMPLES['flow.step']);
  logger.event('flow.step', null as never);
  logger.info(null as never);
  logger.child(null as never).callRecord(null as never);
  assert.equal(logger.stats().writeErrors, 2);
  assert.equal(logger.stats().unknownEvents, 1);
});

test('fatal is available for pino-compatible consumers and passes the masker', () => {
  const { logger, parsed } = capture('info', []);
  logger.fatal({ account: 12345678 }, 'giving up');
  assert.deepEqual(withoutFrame(parsed()[0]!), { account: '[masked]', msg: 'giving up' });
});

test('byte buffers are never asked for a string or JSON form (that would copy their bytes)', () => {
  const { logger, parsed } = capture();
  const wire = Buffer.from('INFO sip:ivr SIP/2.0\r\n\r\nSignal=5');
  let copied = 0;
  wire.toJSON = () => {
    copied++;
    return { type: 'Buffer', data: [] };
  };
  wire.toString = () => {
    copied++;
    return '';
  };
  logger.event('sip.trace', { direction: 'in', transport: 'udp', bytes: wire.length, message: wire });
  logger.debug({ wire });
  assert.equal(copied, 0);
  assert.equal(parsed()[1]?.wire, '[bytes]');
});

test('a key press cannot pass as a step or an id: ids start with a letter', () => {
  const { logger, parsed } = capture();
  logger.event('menu.choice', { callId: 'c-abc', step: '1', outcome: 'chosen' });
  logger.event('flow.step', { callId: '12345', step: '9' });
  const [menu, step] = parsed();
  assert.equal(menu?.step, undefined);
  assert.equal(step?.callId, undefined);
  assert.equal(step?.step, undefined);
  assert.equal(logger.stats().invalidFields, 3);
});

test('by default lines go to stdout, masked, one JSON object per line', async () => {
  const { spawnSync } = await import('node:child_process');
  const loggerUrl = new URL('../../src/observe/logger.ts', import.meta.url).href;
  const script = `
    const { createLogger } = await import(${JSON.stringify(loggerUrl)});
    const logger = createLogger({ level: 'info' });
    logger.event('server.start', { version: '0.1.0', cells: 4, memlock: 'locked' });
    logger.warn('card 4111111111111111');
    logger.flush();`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  const lines = child.stdout.split('\n');
  assert.equal(lines.pop(), '');
  const [start, warning] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.equal(start?.event, 'server.start');
  assert.equal(warning?.msg, 'card [masked]');
  assert.equal(child.stderr, '');
});

test('stdout batching: one turn\'s lines leave in one write, in order, when the turn ends', async () => {
  const writes: string[] = [];
  const batch = new TurnBatch({ write: (chunk: string) => writes.push(chunk) }, () => assert.fail('no error expected'));
  batch.write('a\n');
  batch.write('b\n');
  batch.write('c\n');
  assert.deepEqual(writes, [], 'nothing written mid-turn');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(writes, ['a\nb\nc\n']);
  batch.write('d\n');
  batch.flushSync();
  assert.deepEqual(writes, ['a\nb\nc\n', 'd\n'], 'flush() writes what is pending at once');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(writes.length, 2, 'and nothing twice');
});

test('stdout batching: a large turn is written as soon as 16 KiB gather; a failed write is counted', () => {
  const writes: string[] = [];
  const batch = new TurnBatch({ write: (chunk: string) => writes.push(chunk) }, () => undefined);
  const line = `${'x'.repeat(1023)}\n`;
  for (let i = 0; i < 16; i++) batch.write(line);
  assert.equal(writes.length, 1);
  assert.equal(writes[0]!.length, 16 * 1024);
  let errors = 0;
  const failing = new TurnBatch({ write: () => { throw new Error('EPIPE'); } }, () => errors++);
  failing.write('a\n');
  failing.flushSync();
  assert.equal(errors, 1);
});

for (const ending of ['process.exit(3)', "throw new Error('boom')"]) {
  test(`stdout batching: lines pending when the process ends (${ending}) are written`, async () => {
    const script = [
      "import { createLogger } from './src/observe/logger.ts';",
      "const logger = createLogger({ level: 'info' });",
      "logger.event('server.drain', { phase: 'started', activeCalls: 1 });",
      "logger.event('server.drain', { phase: 'complete', activeCalls: 0 });",
      `${ending};`,
    ].join('\n');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    const [code] = (await once(child, 'close')) as [number];
    assert.notEqual(code, 0);
    const phases = out.trim().split('\n').map((line) => (JSON.parse(line) as { phase: string }).phase);
    assert.deepEqual(phases, ['started', 'complete']);
  });
}
