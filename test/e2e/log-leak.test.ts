// The log-leak test (issue 8): the parking journey end to end at `trace` level — SIP traces
// on — with canary card numbers, expiry dates, security codes, ZIPs, citation numbers and a
// keypad plate keyed as RFC 4733 events. Not one of them may reach the IVR's stdout or
// stderr, and the masker's hit counter must stay 0: the masker is the last line of
// defence, so a hit would mean the primary path (allowlisted fields) leaked and was only
// caught at the end. (test/e2e/parking.test.ts checks the documented test values at info level.)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { DemoCallLog, DemoProcess } from '../support/demo-process.ts';
import { TestCall } from '../support/test-caller.ts';

let demo: DemoProcess;
const phones: TestCall[] = [];
/** Every value a caller keyed in this file. */
const keyed: string[] = [];

before(async () => {
  demo = await DemoProcess.start({ args: ['--log-level', 'trace'] });
});

after(async () => {
  for (const phone of phones) phone.close();
  await demo?.stop();
});

function digits(length: number, first: string): string {
  let value = first;
  while (value.length < length) value += String(randomInt(10));
  return value;
}

/** A Luhn-valid Visa number the gateway approves (any valid Visa but its test decline cards). */
function visa(): string {
  const body = digits(15, '4');
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let digit = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  }
  return `${body}${(10 - (sum % 10)) % 10}`;
}

/** Remembers a keyed value and returns it. */
function canary(value: string): string {
  keyed.push(value);
  return value;
}

async function dial(): Promise<{ phone: TestCall; log: DemoCallLog }> {
  const from = demo.cursor;
  const phone = await TestCall.dial({ port: demo.info.sip.port });
  phones.push(phone);
  const { event, index } = await demo.waitFor((e) => e.event === 'call.start', { from, what: 'call.start' });
  const log = new DemoCallLog(demo, String(event.callId), index);
  assert.equal((await phone.answered).status, 200);
  return { phone, log };
}

async function keys(phone: TestCall, log: DemoCallLog, step: 'gather' | 'gatherSecret' | 'menu', value: string): Promise<void> {
  await log.nextInput(step);
  await phone.sendKeys(value);
}

test('citation path at trace level: an unknown canary citation, then a paid ticket with a canary card', async () => {
  const { phone, log } = await dial();
  await keys(phone, log, 'menu', '1');
  await keys(phone, log, 'menu', '1');
  await keys(phone, log, 'gatherSecret', `${canary(digits(8, '3'))}#`);
  await keys(phone, log, 'gatherSecret', '12345678#');
  await keys(phone, log, 'menu', '1');
  await keys(phone, log, 'gatherSecret', `${canary(visa())}#`);
  await keys(phone, log, 'gatherSecret', canary(`${String(1 + randomInt(12)).padStart(2, '0')}${30 + randomInt(9)}`));
  await keys(phone, log, 'gatherSecret', `${canary(digits(3, String(1 + randomInt(9))))}#`);
  await keys(phone, log, 'gatherSecret', canary(digits(5, String(1 + randomInt(9)))));
  await keys(phone, log, 'menu', '1');
  await keys(phone, log, 'menu', '2');
  assert.equal(await phone.ended, 'remote-bye');
  const cdr = await log.cdr();
  assert.equal(cdr.outcome, 'completed');
  assert.ok(log.all().some((e) => e.event === 'payment.result' && e.result === 'approved'), 'the canary card was approved');
});

test('plate path at trace level: a canary keypad plate, then a declined card and the agent', async () => {
  const { phone, log } = await dial();
  await keys(phone, log, 'menu', '1');
  await keys(phone, log, 'menu', '2');
  await keys(phone, log, 'gatherSecret', `${canary(digits(7, '8'))}#`);
  await keys(phone, log, 'gather', '01');
  // Not found: the plate prompt again; then the documented plate, its tickets, and a declined card.
  await keys(phone, log, 'gatherSecret', '7222123#');
  await keys(phone, log, 'gather', '01');
  await keys(phone, log, 'menu', '1');
  await keys(phone, log, 'gatherSecret', `${canary('4000000000000002')}#`);
  await keys(phone, log, 'gatherSecret', canary(`1${digits(1, String(randomInt(3)))}${digits(2, '3')}`));
  await keys(phone, log, 'gatherSecret', `${canary(digits(3, String(1 + randomInt(9))))}#`);
  await keys(phone, log, 'gatherSecret', canary(digits(5, String(1 + randomInt(9)))));
  await keys(phone, log, 'menu', '1');
  await keys(phone, log, 'menu', '0');
  await (await phone.referred).notified;
  await phone.ended;
  assert.equal((await log.cdr()).outcome, 'transferred');
});

test('nothing keyed reached stdout or stderr, and the masker never had to step in', async () => {
  assert.ok(demo.events.some((e) => e.event === 'sip.trace'), 'trace level is on: SIP traces were written');
  const output = [...demo.textLines, ...demo.events.map((e) => JSON.stringify(e)), demo.stderr].join('\n');
  // Long values (card numbers, citations, plates) must not occur anywhere in the text.
  for (const [i, value] of keyed.entries()) {
    if (value.length >= 7) assert.ok(!output.includes(value), `keyed value #${i} (${value.length} digits) is in the output`);
  }
  // Short ones (expiry, security code, ZIP) occur by chance inside times, latencies and byte
  // counts, so what is checked is that no string field of any line is one of them.
  for (const value of keyed.filter((v) => v.length < 7)) {
    assert.ok(!output.includes(`"${value}"`), 'a log field holds a keyed value');
  }
  const metrics = await demo.admin('/metrics');
  assert.equal(metrics.status, 200);
  const hits = metrics.body.split('\n').filter((line) => line.startsWith('traceless_log_mask_hits_total{'));
  assert.equal(hits.length, 2, 'both masker rules are exported');
  for (const line of hits) assert.match(line, / 0$/, `the masker changed a line: ${line}`);
});
