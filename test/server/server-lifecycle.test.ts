// The composed server in this process (startServer with a config on loopback, port 0) and a
// real SIP caller: what admission refusals, unconfigured numbers and the drain limit leave in
// the log, the call records and the metrics, with the refusals asserted on the wire's bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/server/config-load.ts';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import { TestCall } from '../support/test-caller.ts';

const CONFIGURED = '3115550100';
const DEFINE_FLOW = fileURLToPath(new URL('../../src/flow/define-flow.ts', import.meta.url));
/** Waits for the caller's four digits far longer than any test runs: the call stays up until ended. */
const HOLD_FLOW = `import { defineFlow } from ${JSON.stringify(DEFINE_FLOW)};
export default defineFlow(async (call) => {
  await call.gather({ id: 'account', prompt: 'parking.citation_enter', min: 4, max: 4, firstDigitTimeout: 600000, retries: 0 });
});
`;

type LogLine = Record<string, unknown> & { event?: string };

/** The server's log lines as they are written, with a wait for the next one that matches. */
class LogTap {
  readonly lines: LogLine[] = [];
  readonly raw: string[] = [];
  readonly #waiters = new Set<{ match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }>();
  write(text: string): void {
    this.raw.push(text);
    for (const part of text.split('\n')) {
      if (part.trim() === '') continue;
      const line = JSON.parse(part) as LogLine;
      this.lines.push(line);
      for (const waiter of this.#waiters) {
        if (waiter.match(line)) {
          this.#waiters.delete(waiter);
          waiter.resolve(line);
        }
      }
    }
  }
  /** The first line (already written or still to come) that matches. */
  waitFor(match: (line: LogLine) => boolean): Promise<LogLine> {
    const seen = this.lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.#waiters.add({ match, resolve }));
  }
  of(event: string): LogLine[] {
    return this.lines.filter((line) => line.event === event);
  }
}

async function start(
  t: { after(fn: () => Promise<void> | void): void },
  config: { numbers?: Record<string, string>; cells?: number; drainSeconds?: number; sip?: Record<string, unknown> },
): Promise<{ server: RunningServer; log: LogTap; port: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'traceless-server-'));
  writeFileSync(join(dir, 'hold.ts'), HOLD_FLOW);
  writeFileSync(join(dir, 'sip-password'), 'not-used-by-these-tests', { mode: 0o600 });
  const mediaBase = randomInt(15_000, 30_000) * 2; // RTP ports are even
  writeFileSync(
    join(dir, 'traceless.yaml'),
    JSON.stringify({
      sip: { listeners: [{ transport: 'udp', address: '127.0.0.1', port: 0 }], ...config.sip },
      media: { address: '127.0.0.1', portRange: { min: mediaBase, max: mediaBase + 99 } },
      cells: { max: config.cells ?? 4 },
      numbers: config.numbers ?? { [CONFIGURED]: 'hold' },
      applications: { hold: { flow: 'hold.ts', agentUri: 'sip:agent@127.0.0.1' } },
      admin: { address: '127.0.0.1', port: 0 },
      drainSeconds: config.drainSeconds ?? 30,
    }),
  );
  const log = new LogTap();
  // unsafeDebug: the test runner's own flags (--expose-gc) are warnings here, not fatal.
  const server = await startServer(loadConfig(join(dir, 'traceless.yaml'), {}), {
    unsafeDebug: true,
    logDestination: { write: (line: string) => log.write(line) },
  });
  t.after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { server, log, port: server.sipAddress('udp')!.port };
}

/** Our own INVITE, byte for byte, and the raw bytes of the final response it gets. */
async function rawInvite(port: number, dialled: string, extraHeaders: string[] = []): Promise<string> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const local = socket.address().port;
  const invite = [
    `INVITE sip:${dialled}@127.0.0.1:${port} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK-raw-${randomInt(1e9)};rport`,
    'Max-Forwards: 70',
    'From: <sip:+15550001234@127.0.0.1>;tag=raw1',
    `To: <sip:${dialled}@127.0.0.1>`,
    `Call-ID: raw-${randomInt(1e9)}@127.0.0.1`,
    'CSeq: 1 INVITE',
    `Contact: <sip:+15550001234@127.0.0.1:${local}>`,
    ...extraHeaders,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  try {
    const final = new Promise<string>((resolve) => {
      socket.on('message', (bytes) => {
        const text = bytes.toString('latin1');
        if (!/^SIP\/2\.0 1\d\d /.test(text)) resolve(text);
      });
    });
    socket.send(invite, port, '127.0.0.1');
    return await final;
  } finally {
    socket.close();
  }
}

async function sample(server: RunningServer, series: string): Promise<number> {
  const line = (await server.metrics.exposition()).split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

test('a call to a number nobody configured is answered, and logged and recorded as "other": no mask hit', async (t) => {
  const { server, log, port } = await start(t, {});
  const phone = await TestCall.dial({ port, dialled: '4111111111111111' });
  t.after(() => phone.close());
  assert.equal((await phone.answered).status, 200, 'answered like any number (no enumeration)');
  await phone.ended; // not in service: the apology, then our BYE
  const record = await log.waitFor((line) => line.event === 'cdr');
  const started = log.of('call.start')[0];
  assert.equal(started?.dialled, 'other');
  assert.equal(started?.app, 'not-in-service');
  assert.equal(record.dialled, 'other');
  assert.equal(record.invalidFields, undefined);
  assert.ok(!log.raw.join('').includes('4111111111111111'));
  assert.ok(!log.raw.join('').includes('[masked]'), 'nothing for the masker to do');
  assert.equal(await sample(server, 'traceless_log_mask_hits_total{rule="luhn"}'), 0);
  assert.equal(await sample(server, 'traceless_log_mask_hits_total{rule="long-run"}'), 0);
});

test('every cell busy: the next INVITE gets 503 with Retry-After, a sip.reject line and a rejected record', async (t) => {
  const { server, log, port } = await start(t, { cells: 1 });
  const phone = await TestCall.dial({ port, dialled: CONFIGURED });
  t.after(() => phone.close());
  assert.equal((await phone.answered).status, 200);
  await log.waitFor((line) => line.event === 'flow.step' && line.kind === 'open');

  const response = await rawInvite(port, CONFIGURED);
  assert.ok(response.startsWith('SIP/2.0 503 Service Unavailable\r\n'), response);
  assert.match(response, /\r\nRetry-After: 5\r\n/);

  const reject = await log.waitFor((line) => line.event === 'sip.reject');
  assert.deepEqual(
    { method: reject.method, status: reject.status, reason: reject.reason, transport: reject.transport },
    { method: 'INVITE', status: 503, reason: 'full', transport: 'udp' },
  );
  const record = await log.waitFor((line) => line.event === 'cdr' && line.callId === reject.callId);
  assert.equal(record.outcome, 'rejected');
  assert.equal(record.hangupCause, 'full');
  assert.equal(record.answerTime, null);
  assert.equal(record.wipe, null);
  assert.equal(record.dialled, CONFIGURED);
  assert.equal(await sample(server, 'traceless_calls_total{outcome="rejected"}'), 1);
  assert.equal(await phone.hangup(), 200, 'the call that holds the cell is untouched');
});

test('drain limit: a call still up after drainSeconds is cut, wiped and recorded as drain-timeout; new INVITEs 503', async (t) => {
  const cells = 2;
  const { server, log, port } = await start(t, { cells, drainSeconds: 1 });
  const phone = await TestCall.dial({ port, dialled: CONFIGURED });
  t.after(() => phone.close());
  assert.equal((await phone.answered).status, 200);
  const open = await log.waitFor((line) => line.event === 'flow.step' && line.kind === 'open');
  const callId = open.callId;

  const drained = server.drain();
  await log.waitFor((line) => line.event === 'server.drain' && line.phase === 'started');
  const refused = await rawInvite(port, CONFIGURED);
  assert.ok(refused.startsWith('SIP/2.0 503 Service Unavailable\r\n'), refused);
  assert.match(refused, /\r\nRetry-After: 30\r\n/);
  await drained;

  assert.equal(await phone.ended, 'remote-bye', 'the caller got our BYE');
  const end = log.of('server.drain').find((line) => line.phase !== 'started');
  assert.equal(end?.phase, 'timeout');
  assert.equal(end?.activeCalls, 1);
  const wipes = log.of('cell.wipe').filter((line) => line.callId === callId);
  assert.equal(wipes.length, 1);
  assert.equal(wipes[0]!.verified, true);
  const records = log.of('cdr');
  assert.deepEqual(
    records.map((r) => [r.outcome, r.hangupCause]),
    [
      ['rejected', 'draining'],
      ['failed', 'drain-timeout'],
    ],
    'one record per call',
  );
  assert.deepEqual(records[1]!.wipe, { bytes: wipes[0]!.bytes, verified: true });
  assert.deepEqual((records[1]!.steps as string[]).slice(0, 1), ['account']);
  // Every call had given its cell back before the pool's final wipe of all of them.
  const [shutdown, ...more] = log.of('vault.shutdown');
  assert.equal(more.length, 0);
  assert.deepEqual({ callsEnded: shutdown?.callsEnded, cellsWiped: shutdown?.cellsWiped, verified: shutdown?.verified }, { callsEnded: 0, cellsWiped: cells, verified: true });
  assert.equal(await sample(server, 'traceless_wipes_total{verified="true"}'), 1 + cells, 'the call\'s wipe and the final one');
  assert.equal(await sample(server, 'traceless_calls_total{outcome="failed"}'), 1);
  assert.equal(await sample(server, 'traceless_calls_total{outcome="rejected"}'), 1);
});

test('admission refusals are told apart: 403 untrusted is a rejected call, a 401 challenge is a line only', async (t) => {
  const untrusted = await start(t, { sip: { trustedPeers: ['192.0.2.0/24'] } });
  const forbidden = await rawInvite(untrusted.port, CONFIGURED);
  assert.ok(forbidden.startsWith('SIP/2.0 403 Forbidden\r\n'), forbidden);
  const reject = await untrusted.log.waitFor((line) => line.event === 'sip.reject');
  assert.equal(reject.reason, 'untrusted');
  const record = await untrusted.log.waitFor((line) => line.event === 'cdr');
  assert.deepEqual([record.callId, record.outcome, record.hangupCause], [reject.callId, 'rejected', 'untrusted']);
  assert.equal(await sample(untrusted.server, 'traceless_calls_total{outcome="rejected"}'), 1);

  const auth = { realm: '127.0.0.1', users: [{ username: 'pbx', password: { file: 'sip-password' } }] };
  const challenging = await start(t, { sip: { trustedPeers: ['192.0.2.0/24'], auth } });
  const challenge = await rawInvite(challenging.port, CONFIGURED);
  assert.ok(challenge.startsWith('SIP/2.0 401 Unauthorized\r\n'), challenge);
  const line = await challenging.log.waitFor((l) => l.event === 'sip.reject');
  assert.deepEqual([line.status, line.reason, line.callId], [401, 'challenged', undefined]);
  assert.equal(challenging.log.of('cdr').length, 0, 'the caller will retry with credentials: no call has ended');
  assert.equal(await sample(challenging.server, 'traceless_calls_total{outcome="rejected"}'), 0);
});

test('an INVITE the SIP stack refuses by itself (here 420) is a rejected call too: sip.reject, a record, a count', async (t) => {
  const { server, log, port } = await start(t, {});
  const refused = await rawInvite(port, CONFIGURED, ['Require: 100rel']);
  assert.ok(refused.startsWith('SIP/2.0 420 Bad Extension\r\n'), refused);
  const reject = await log.waitFor((line) => line.event === 'sip.reject');
  assert.deepEqual([reject.status, reject.reason, reject.method], [420, 'bad-extension', 'INVITE']);
  const record = await log.waitFor((line) => line.event === 'cdr');
  assert.deepEqual([record.callId, record.outcome, record.hangupCause, record.dialled], [reject.callId, 'rejected', 'bad-extension', CONFIGURED]);
  assert.equal(await sample(server, 'traceless_calls_total{outcome="rejected"}'), 1);
});

test('sip.minSessionExpiresSeconds is our Min-SE: a shorter Session-Expires gets 422 naming it (RFC 4028 §6)', async (t) => {
  const { port } = await start(t, { sip: { minSessionExpiresSeconds: 300 } });
  const refused = await rawInvite(port, CONFIGURED, ['Supported: timer', 'Session-Expires: 200']);
  assert.ok(refused.startsWith('SIP/2.0 422 Session Interval Too Small\r\n'), refused);
  assert.match(refused, /\r\nMin-SE: 300\r\n/);
});
