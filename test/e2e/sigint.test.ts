// SIGINT (issue 5: shutdown is an exit path) over the real process: `traceless demo` gets
// SIGINT while a call is in its menu. SIGINT does not wait for calls: the call is hung up by
// the IVR (the caller gets a BYE), its cell is wiped and read back, its one record says it was
// cut by shutdown, the pool's final wipe of every cell is verified, and the process exits 0.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { DemoCallLog, DemoProcess } from '../support/demo-process.ts';
import { TestCall } from '../support/test-caller.ts';

let demo: DemoProcess | undefined;
let phone: TestCall | undefined;

after(async () => {
  phone?.close();
  await demo?.stop();
});

test('SIGINT with a call up: the call is ended by the IVR, wiped and recorded, then exit 0', async () => {
  demo = await DemoProcess.start();
  const running = demo;
  const from = running.cursor;
  phone = await TestCall.dial({ port: running.info.sip.port });
  const { event, index } = await running.waitFor((e) => e.event === 'call.start', { from, what: 'call.start' });
  const log = new DemoCallLog(running, String(event.callId), index);
  assert.equal((await phone.answered).status, 200);
  await log.nextInput('menu'); // the language menu is open: the call is mid-flow

  running.signal('SIGINT');
  assert.equal(await phone.ended, 'remote-bye', 'the IVR hung up with BYE');
  const wipe = await log.next((e) => e.event === 'cell.wipe', 'cell.wipe');
  assert.equal(wipe.verified, true, 'the call\'s cell was wiped and read back as zero');
  assert.ok(Number(wipe.bytes) > 0);
  const cdr = await log.cdr();
  assert.equal(cdr.outcome, 'failed', 'cut by the operator, not finished');
  assert.equal(cdr.hangupCause, 'shutdown');
  assert.deepEqual(cdr.wipe, { bytes: wipe.bytes, verified: true });
  assert.equal(log.all().filter((e) => e.event === 'cdr').length, 1, 'exactly one record');

  const { event: shutdown } = await running.waitFor((e) => e.event === 'vault.shutdown', { from: index, what: 'vault.shutdown' });
  assert.equal(shutdown.callsEnded, 0, 'no call still held a cell when the pool shut down');
  assert.equal(shutdown.verified, true, 'every cell read back as zero');
  assert.ok(Number(shutdown.cellsWiped) > 0);
  await running.whenExited();
  assert.equal(running.exitCode, 0, `the demo exits 0 after SIGINT: ${running.stderr.slice(-2000)}`);
});
