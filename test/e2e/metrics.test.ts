// Metric wiring through the real server (issue 8): `traceless demo`, one paid parking call over
// SIP/RTP, and /metrics scraped from the admin listener before, during and after it. Each
// series the call should move must have moved — a metric the server forgot to feed stays put
// here even though its unit test (test/observe/metrics.test.ts) passes.
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

/** Every sample of the exposition by its series (`name{labels}`). */
async function scrape(running: DemoProcess): Promise<Map<string, number>> {
  const { status, body } = await running.admin('/metrics');
  assert.equal(status, 200);
  const samples = new Map<string, number>();
  for (const line of body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

/** One series' value, or the sum over every label set of a metric (name without braces). */
function value(samples: Map<string, number>, series: string): number {
  if (series.includes('{')) return samples.get(series) ?? 0;
  let sum = 0;
  for (const [key, sample] of samples) if (key === series || key.startsWith(`${series}{`)) sum += sample;
  return sum;
}

test('one paid call moves every call, latency, payment, wipe and media series; the free cells dip and recover', async () => {
  demo = await DemoProcess.start();
  const running = demo;
  const before = await scrape(running);
  const cells = value(before, 'traceless_free_cells');
  assert.ok(cells > 0);

  const from = running.cursor;
  phone = await TestCall.dial({ port: running.info.sip.port });
  const { event, index } = await running.waitFor((e) => e.event === 'call.start', { from, what: 'call.start' });
  const log = new DemoCallLog(running, String(event.callId), index);
  assert.equal((await phone.answered).status, 200);
  const key = async (step: 'gather' | 'gatherSecret' | 'menu', keys: string): Promise<void> => {
    await log.nextInput(step);
    await phone!.sendKeys(keys);
  };

  await key('menu', '1'); // English
  const during = await scrape(running);
  assert.equal(value(during, 'traceless_free_cells'), cells - 1, 'the call holds a cell');
  assert.equal(value(during, 'traceless_active_calls'), 1);

  await key('menu', '1'); // pay a citation
  await key('gatherSecret', '12345678#');
  await key('menu', '1'); // pay the amount due
  await key('gatherSecret', '4111111111111111#');
  await key('gatherSecret', '1230');
  await key('gatherSecret', '123#');
  await key('gatherSecret', '94103');
  await key('menu', '1'); // confirm
  await key('menu', '2'); // no repeat: goodbye
  assert.equal(await phone.ended, 'remote-bye');
  const cdr = await log.cdr();
  assert.equal(cdr.outcome, 'completed', `steps ${JSON.stringify(cdr.steps)}`);

  const afterCall = await scrape(running);
  const moved = (series: string): number => value(afterCall, series) - value(before, series);
  assert.equal(moved('traceless_calls_total{outcome="completed"}'), 1);
  assert.equal(moved('traceless_call_setup_seconds_count'), 1);
  assert.ok(moved('traceless_key_response_seconds_count') > 0, 'key → response latency observed');
  assert.ok(moved('traceless_backend_latency_seconds_count') >= 2, 'the lookup and the payment record');
  assert.ok(moved('traceless_backend_latency_seconds_count{backend="city",outcome="ok"}') >= 2, 'labelled by the configured backend name');
  assert.equal(moved('traceless_payments_total{result="approved"}'), 1);
  assert.equal(moved('traceless_payment_latency_seconds_count'), 1);
  assert.equal(moved('traceless_wipes_total{verified="true"}'), 1);
  assert.equal(moved('traceless_wipes_total{verified="false"}'), 0);
  assert.ok(moved('traceless_wiped_bytes_total') > 0);
  assert.ok(moved('traceless_media_clock_lateness_seconds_count') > 0, 'the media clock reported its ticks');
  assert.equal(value(afterCall, 'traceless_free_cells'), cells, 'the cell is free again');
  assert.equal(value(afterCall, 'traceless_active_calls'), 0);
  assert.equal(value(afterCall, 'traceless_log_mask_hits_total'), 0, 'nothing leaked to the masker');
});
