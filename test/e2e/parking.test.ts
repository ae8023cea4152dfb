// The parking line end to end (issue 7): `traceless demo` with its own PostgreSQL city
// database and mTLS test gateway, called over real SIP (UDP, one call over TCP) and RTP by
// the project's test caller, keys sent as RFC 4733 events. One demo for the whole file;
// calls run one after another, in an order that respects what each leaves in the database:
// the plate path needs both of 7ABC123's tickets unpaid, so it runs before 12345678 is paid,
// and the database outage comes last. Every wait is on a log line or a SIP message; every
// call is checked for exactly one call record and a verified wipe.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import pg from 'pg';
import { DemoCallLog, DemoProcess, type DemoEvent } from '../support/demo-process.ts';
import { TestCall, type ReferReceived, type SipTransportKind } from '../support/test-caller.ts';
import { connectAuditor } from '../../apps/parking/auditor.ts';
import { interopSkip } from '../support/interop.ts';

let demo: DemoProcess;
const calls: TestCall[] = [];

before(async () => {
  demo = await DemoProcess.start();
});

after(async () => {
  for (const call of calls) call.close();
  if (!demo) return;
  await demo.stop();
  assert.equal(demo.exitCode, 0, `the demo stops cleanly on SIGINT: ${demo.stderr.slice(-2000)}`);
  // Each call ends in exactly one record, whatever path it took.
  const records = demo.events.filter((e) => e.event === 'cdr');
  const ids = records.map((e) => e.callId);
  assert.equal(new Set(ids).size, ids.length, 'one call record per call');
  // Nothing the callers keyed reached a log line or stderr (the banner's static test data aside).
  const logged = `${demo.events.map((e) => JSON.stringify(e)).join('\n')}\n${demo.stderr}`;
  for (const keyed of ['4111111111111111', '4000000000000002', '12345678', '23456789', '11111111', '22222222', '99999999', '7222123']) {
    assert.ok(!logged.includes(keyed), 'a keyed value appears in the demo output');
  }
});

/** Places a call and finds its id in the demo's log (its call.start line). */
async function dial(transport: SipTransportKind = 'udp'): Promise<{ phone: TestCall; log: DemoCallLog }> {
  const from = demo.cursor;
  const phone = await TestCall.dial({ port: demo.info.sip.port, transport });
  calls.push(phone);
  const { event, index } = await demo.waitFor((e) => e.event === 'call.start', { from, what: 'call.start' });
  const log = new DemoCallLog(demo, String(event.callId), index);
  const answer = await phone.answered;
  assert.equal(answer.status, 200);
  assert.ok(answer.payloadTypes.includes(101), 'the answer keeps telephone-event');
  await log.next((e) => e.event === 'call.answer', 'call.answer');
  return { phone, log };
}

/** Waits until the flow's next entry step takes keys, then keys them. */
async function keys(phone: TestCall, log: DemoCallLog, step: 'gather' | 'gatherSecret' | 'menu', digits: string): Promise<void> {
  await log.nextInput(step);
  await phone.sendKeys(digits);
}

/** The call's one record and its wipe: exactly one cdr line, wipe verified on both. */
async function assertEnded(phone: TestCall, log: DemoCallLog, outcome: string, hangupCause?: string): Promise<DemoEvent> {
  const cdr = await log.cdr();
  assert.ok(phone.rtpReceived > 0, 'the IVR sent audio');
  assert.ok(phone.dtmfPacketsSent > 0, 'keys went as RFC 4733 events');
  const wipe = await log.next((e) => e.event === 'cell.wipe', 'cell.wipe');
  assert.equal(wipe.verified, true, 'the cell wipe was read back as zero');
  assert.ok(Number(wipe.bytes) > 0, 'the arena was wiped');
  assert.equal(cdr.outcome, outcome, `outcome (steps: ${JSON.stringify(cdr.steps)}, cause: ${String(cdr.hangupCause)})`);
  if (hangupCause) assert.equal(cdr.hangupCause, hangupCause);
  assert.deepEqual(cdr.wipe, { bytes: wipe.bytes, verified: true });
  assert.equal(log.all().filter((e) => e.event === 'cdr').length, 1, 'exactly one call record');
  return cdr;
}

/** This call's backend.query lines as `operation:outcome:rows`. */
function queries(log: DemoCallLog): string[] {
  return log.all().filter((e) => e.event === 'backend.query').map((e) => `${String(e.operation)}:${String(e.outcome)}:${String(e.rows)}`);
}

function paymentResults(log: DemoCallLog): string[] {
  return log.all().filter((e) => e.event === 'payment.result').map((e) => String(e.result));
}

/** Parses `key=value;key=value` (values percent-encoded). */
function parseContext(header: string): Record<string, string> {
  const context: Record<string, string> = {};
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0) context[decodeURIComponent(pair.slice(0, eq))] = decodeURIComponent(pair.slice(eq + 1));
  }
  return context;
}

const CONTEXT_KEYS = new Set(['language', 'path', 'citationFound', 'amountDue', 'reason']);

/** The REFER went to the configured agent and its context holds only non-sensitive values. */
async function assertAgentRefer(refer: ReferReceived, forbidden: readonly string[]): Promise<Record<string, string>> {
  assert.equal(await refer.notified, 200, 'our NOTIFY (sipfrag 200) was taken in the dialog');
  assert.equal(refer.referTo, `<sip:agent@127.0.0.1:${demo.info.sip.port + 10}>`);
  assert.ok(refer.context.length > 0, 'X-Traceless-Context is present');
  assert.doesNotMatch(refer.context, /\d{8}/, 'no citation- or card-length digit run');
  for (const value of forbidden) assert.ok(!refer.context.includes(value), 'nothing the caller keyed');
  const context = parseContext(refer.context);
  for (const key of Object.keys(context)) assert.ok(CONTEXT_KEYS.has(key), `unexpected context key ${key}`);
  assert.equal(context.language, 'en-US');
  return context;
}

async function englishMainMenu(phone: TestCall, log: DemoCallLog, choice: '1' | '2'): Promise<void> {
  await keys(phone, log, 'menu', '1'); // For English press 1
  await keys(phone, log, 'menu', choice); // 1 citation, 2 licence plate
}

/** Pay menu → pay the total → card, expiry, security code, ZIP → "press 1 to pay". */
async function payByCard(phone: TestCall, log: DemoCallLog, card: string): Promise<void> {
  await keys(phone, log, 'menu', '1');
  await keys(phone, log, 'gatherSecret', `${card}#`);
  await keys(phone, log, 'gatherSecret', '1230');
  await keys(phone, log, 'gatherSecret', '123#');
  await keys(phone, log, 'gatherSecret', '94103');
  await keys(phone, log, 'menu', '1');
}

const cityDb = (): Promise<pg.Client> => connectAuditor(demo.info.db);

test('plate path: 7ABC123 keyed 7222123, state 01 → both tickets, $130.00 due (agent context from the pay menu)', async () => {
  const { phone, log } = await dial();
  await englishMainMenu(phone, log, '2');
  await keys(phone, log, 'gatherSecret', '7222123#');
  await keys(phone, log, 'gather', '01');
  // One plate matches, so the next menu is the pay menu (a choice of plates would come first
  // otherwise); 0 there asks for an agent, whose context carries the total the database gave.
  await keys(phone, log, 'menu', '0');
  const refer = await phone.referred;
  const context = await assertAgentRefer(refer, ['7222123', '7ABC123']);
  assert.equal(context.path, 'plate');
  assert.equal(context.amountDue, '13000', 'two unpaid $65.00 tickets');
  await phone.ended;
  const cdr = await assertEnded(phone, log, 'transferred', 'transfer');
  assert.deepEqual(queries(log), ['unpaidByPlate:ok:2'], 'both of the plate\'s unpaid tickets');
  assert.equal((cdr.backendLatencies as unknown[]).length, 1, 'the lookup\'s latency is in the record');
});

test('the banner says how to call: the SIP URI, a sipp one-liner and a baresip line', () => {
  // The banner is written right after demo.ready, before any call; stdout is read in order,
  // so once a call's lines have arrived (the test above) every banner line has been read.
  assert.ok(demo.events.some((e) => e.event === 'call.start'));
  const port = demo.info.sip.port;
  const uri = `sip:3115550100@127.0.0.1:${port}`;
  assert.ok(demo.textLines.includes(`  call it:  ${uri}`), demo.textLines.join('\n'));
  assert.ok(demo.textLines.includes(`  sipp:     sipp -sn uac -m 1 -s 3115550100 127.0.0.1:${port}`), demo.textLines.join('\n'));
  assert.ok(demo.textLines.includes(`  baresip:  baresip -e "/dial ${uri}"`), demo.textLines.join('\n'));
});

test('the printed sipp one-liner places a call the demo answers', { skip: interopSkip('sipp') }, async () => {
  const line = demo.textLines.find((text) => text.startsWith('  sipp:'));
  assert.ok(line);
  const [command, ...args] = line.slice('  sipp:'.length).trim().split(/\s+/);
  assert.equal(command, 'sipp');
  const from = demo.cursor;
  // As printed, plus loopback-only binding and a bound on the run (never a hang in a test).
  const sipp = spawn('sipp', [...args, '-i', '127.0.0.1', '-timeout', '30s', '-timeout_error', '-nostdin'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  sipp.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const [code] = (await once(sipp, 'close')) as [number | null];
  assert.equal(code, 0, `sipp's call succeeded: ${stderr.slice(-2000)}`);
  const { event } = await demo.waitFor((e) => e.event === 'call.start', { from, what: 'call.start from sipp' });
  const log = new DemoCallLog(demo, String(event.callId), from);
  await log.next((e) => e.event === 'call.answer', 'call.answer');
  const cdr = await log.cdr();
  assert.equal(cdr.hangupCause, 'remote-bye', 'sipp hung up with BYE');
});

test('citation path: 12345678 paid with 4111111111111111 and approved; the city database records it', async () => {
  const { phone, log } = await dial();
  await englishMainMenu(phone, log, '1');
  await keys(phone, log, 'gatherSecret', '12345678#');
  await payByCard(phone, log, '4111111111111111');
  // Approved: the confirmation number, "press 1 to repeat"; 2 is no option, so the line says goodbye.
  await keys(phone, log, 'menu', '2');
  assert.equal(await phone.ended, 'remote-bye');
  const cdr = await assertEnded(phone, log, 'completed');
  assert.deepEqual(queries(log), ['ticketByCitation:ok:1', 'recordPayment:ok:1']);
  assert.deepEqual(paymentResults(log), ['approved']);
  assert.equal((cdr.paymentLatencies as unknown[]).length, 1);

  const db = await cityDb();
  try {
    const { rows } = await db.query(
      `SELECT t.status, p.amount_cents, p.card_last4, p.gateway_authorization, p.confirmation
         FROM tickets t JOIN payments p ON p.ticket_id = t.id WHERE t.citation = $1`,
      ['12345678'],
    );
    assert.equal(rows.length, 1, 'one payment for the ticket');
    const [row] = rows as Array<Record<string, unknown>>;
    assert.equal(row!.status, 'paid');
    assert.equal(row!.amount_cents, 6500);
    assert.equal(row!.card_last4, '1111');
    assert.match(String(row!.gateway_authorization), /^\S{4,}$/, 'the gateway authorization is recorded');
    // Nothing else about the card exists in the city's tables.
    const columns = await db.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'payments'");
    const names = columns.rows.map((r: { column_name: string }) => r.column_name).sort();
    assert.deepEqual(names, ['amount_cents', 'card_last4', 'confirmation', 'gateway_authorization', 'paid_at', 'ticket_id']);
  } finally {
    await db.end();
  }
});

test('declined card (4000000000000002), then 0 → agent transfer with a non-sensitive context (over TCP)', async () => {
  const { phone, log } = await dial('tcp');
  await englishMainMenu(phone, log, '1');
  await keys(phone, log, 'gatherSecret', '23456789#');
  await payByCard(phone, log, '4000000000000002');
  await keys(phone, log, 'menu', '0'); // declined: 1 another card, 0 agent
  const refer = await phone.referred;
  const context = await assertAgentRefer(refer, ['23456789', '4000000000000002', '0002', '94103']);
  assert.deepEqual(context, { language: 'en-US', path: 'citation', citationFound: 'yes', amountDue: '6500', reason: 'declined' });
  await phone.ended;
  await assertEnded(phone, log, 'transferred', 'transfer');
  assert.deepEqual(queries(log), ['ticketByCitation:ok:1']);
  assert.deepEqual(paymentResults(log), ['declined']);

  const db = await cityDb();
  try {
    const { rows } = await db.query('SELECT status FROM tickets WHERE citation = $1', ['23456789']);
    assert.equal(rows[0]?.status, 'unpaid', 'a declined card records nothing');
  } finally {
    await db.end();
  }
});

test('three unknown citations → agent', async () => {
  const { phone, log } = await dial();
  await englishMainMenu(phone, log, '1');
  for (const citation of ['11111111', '22222222', '99999999']) await keys(phone, log, 'gatherSecret', `${citation}#`);
  const refer = await phone.referred;
  const context = await assertAgentRefer(refer, ['11111111', '22222222', '99999999']);
  assert.equal(context.path, 'citation');
  assert.equal(context.citationFound, 'no');
  await phone.ended;
  await assertEnded(phone, log, 'transferred', 'transfer');
  assert.deepEqual(queries(log), ['ticketByCitation:ok:0', 'ticketByCitation:ok:0', 'ticketByCitation:ok:0'], 'three lookups, none found');
});

test('hang-up during card entry → abandoned, cell wiped', async () => {
  const { phone, log } = await dial();
  await englishMainMenu(phone, log, '1');
  await keys(phone, log, 'gatherSecret', '23456789#');
  await keys(phone, log, 'menu', '1');
  await keys(phone, log, 'gatherSecret', '4111');
  // The first key barged in (the entry is armed): part of a card number is in the arena.
  await log.next((e) => e.event === 'flow.step' && e.kind === 'armed' && e.step === 'gatherSecret', 'armed card entry');
  assert.equal(await phone.hangup(), 200);
  await assertEnded(phone, log, 'abandoned', 'remote-bye');
});

test('database stopped mid-call → unavailable, the offer of an agent, 0 → REFER', async () => {
  const { phone, log } = await dial();
  await englishMainMenu(phone, log, '1');
  await log.nextInput('gatherSecret');
  // Stop the city database (its process stops PostgreSQL with a fast shutdown) and know it is
  // down when our own session to it is closed by the server.
  const watcher = await cityDb();
  const closed = new Promise((resolve) => watcher.once('end', resolve));
  watcher.on('error', () => undefined); // 57P01: terminating connection due to administrator command
  process.kill(demo.info.db.pid, 'SIGINT');
  await closed;
  await phone.sendKeys('12345678#');
  // "Temporarily unavailable. To speak with an agent press 0, to end this call press 2."
  await keys(phone, log, 'menu', '0');
  const refer = await phone.referred;
  const context = await assertAgentRefer(refer, ['12345678']);
  assert.equal(context.reason, 'city-unavailable');
  assert.equal(context.path, 'citation');
  await phone.ended;
  const cdr = await assertEnded(phone, log, 'transferred', 'transfer');
  assert.deepEqual(queries(log), ['ticketByCitation:error:0'], 'the lookup failed, once: nothing retried');
  // After the failed lookup: the unavailable prompt, the offer, the agent prompt, the transfer
  // — no dead air — and the transfer came from the caller's choice (0 barged in on the offer),
  // not from the offer timing out.
  const steps = cdr.steps as string[];
  assert.deepEqual(steps.slice(steps.lastIndexOf('citation-lookup') + 1), ['unavailable', 'unavailable-offer', 'agent']);
  const afterLookup = log.all().slice(log.all().findIndex((e) => e.event === 'backend.query'));
  assert.deepEqual(afterLookup.filter((e) => e.event === 'menu.choice').map((e) => e.outcome), ['chosen']);
  assert.ok(!log.all().some((e) => e.msg === 'flow failed'), 'the flow handled the outage itself (no fallback)');
  assert.ok(demo.events.some((e) => e.msg === 'backend connection lost' && e.backend === 'city'), 'the IVR saw its pooled connections go');
});
