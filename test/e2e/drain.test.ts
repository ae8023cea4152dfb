// Graceful drain (issue 8) over the real process: `traceless demo` gets SIGTERM while a call
// is in progress. From then on /health/ready answers 503 with the draining check failing and
// a new INVITE gets 503; the active call is still served until the caller hangs up, its cell
// is wiped (read back as zero), the drain completes and the process exits 0.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { DemoCallLog, DemoProcess } from '../support/demo-process.ts';
import { TestCall } from '../support/test-caller.ts';

let demo: DemoProcess | undefined;
const phones: TestCall[] = [];

after(async () => {
  for (const phone of phones) phone.close();
  await demo?.stop();
});

async function dial(running: DemoProcess): Promise<TestCall> {
  const phone = await TestCall.dial({ port: running.info.sip.port });
  phones.push(phone);
  return phone;
}

test('SIGTERM with a call up: not ready, new INVITEs 503, the call finishes and is wiped, exit 0', async () => {
  demo = await DemoProcess.start();
  const running = demo;
  assert.equal((await running.admin('/health/ready')).status, 200, 'ready before the drain');

  const from = running.cursor;
  const phone = await dial(running);
  const { event, index } = await running.waitFor((e) => e.event === 'call.start', { from, what: 'call.start' });
  const log = new DemoCallLog(running, String(event.callId), index);
  assert.equal((await phone.answered).status, 200);
  await log.nextInput('menu'); // the language menu is open

  const drainFrom = running.cursor;
  running.signal('SIGTERM');
  const started = await running.waitFor((e) => e.event === 'server.drain' && e.phase === 'started', { from: drainFrom, what: 'server.drain started' });
  assert.equal(started.event.activeCalls, 1);

  const ready = await running.admin('/health/ready');
  assert.equal(ready.status, 503, 'not ready while draining');
  const report = JSON.parse(ready.body) as { status: string; checks: Array<{ name: string; status: string; observed?: unknown }> };
  assert.equal(report.status, 'fail');
  assert.deepEqual(report.checks.find((check) => check.name === 'draining'), {
    name: 'draining',
    status: 'fail',
    observed: true,
    hint: 'shutting down: finishing active calls',
  });

  const late = await dial(running);
  await assert.rejects(late.answered, /INVITE failed: 503/, 'a new INVITE is refused with 503');

  // The active call is still served: a key moves it on to the main menu.
  await phone.sendKeys('1');
  await log.nextInput('menu');
  assert.equal(await phone.hangup(), 200);
  const wipe = await log.next((e) => e.event === 'cell.wipe', 'cell.wipe');
  assert.equal(wipe.verified, true, 'the call\'s cell was wiped and read back');
  assert.ok(Number(wipe.bytes) > 0);
  assert.equal((await log.cdr()).outcome, 'abandoned');

  const complete = await running.waitFor((e) => e.event === 'server.drain' && e.phase !== 'started', { from: drainFrom, what: 'server.drain end' });
  assert.equal(complete.event.phase, 'complete', 'every call finished within the drain limit');
  assert.equal(complete.event.activeCalls, 0);
  await running.whenExited();
  assert.equal(running.exitCode, 0, `the demo exits 0 after the drain: ${running.stderr.slice(-2000)}`);
});
