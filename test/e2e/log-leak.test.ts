// The log-leak test (issue 8): real calls end to end at `trace` level — SIP traces on — with
// canaries keyed as RFC 4733 events, and not one of them may reach stdout or stderr:
// - the parking journey on the demo: card numbers, expiry dates, security codes, ZIPs,
//   citation numbers and a keypad plate;
// - a PIN line (a YAML flow on a second server, `traceless start`, whose backend is the
//   demo's city database): an account number in a plain gather and a PIN in a secure one,
//   which the flow binds into a real query.
// Output is searched leaf by leaf (test/observe/leak-scan.ts): long canaries anywhere, short
// ones as numbers and whole tokens. The masker's hit counter must stay 0 on both servers: the
// masker is the last line of defence, so a hit would mean the primary path (allowlisted
// fields) leaked and was only caught at the end. (test/e2e/parking.test.ts checks the
// documented test values at info level.)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DemoCallLog, DemoProcess, freeSipAndTcpPort } from '../support/demo-process.ts';
import { TestCall } from '../support/test-caller.ts';
import { findCanaries } from '../observe/leak-scan.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WAIT_MS = 60_000;

/** The PIN line: a YAML flow whose backend binds the PIN into a query on the demo's database. */
const PIN_FLOW = `name: pin-line
steps:
  - id: account
    gather: { prompt: parking.citation_enter, min: 8, max: 8, terminator: null, retries: 0, into: account, onFail: bye }
  - id: pin
    gatherSecret: { prompt: parking.cvv_enter, kind: pin, min: 6, max: 6, terminator: null, retries: 0, into: pin, onFail: bye }
  - id: check
    backend: { name: bank, operation: pinCheck, params: { account: $account, pin: $pin }, into: check, onError: bye }
  - branch:
      cases:
        - if: { eq: [$check.count, 1] }
          goto: accepted
      else: bye
  - id: accepted
    say: parking.payment_approved
  - id: bye
    say: goodbye
  - hangup: true
`;
/** Its number: configured, so the masker leaves it readable. */
const PIN_LINE = '3115550199';

/** `traceless start` with a config and the PIN flow in a temp dir; its stdout lines, raw and parsed. */
class PinServer {
  readonly lines: string[] = [];
  readonly events: Array<Record<string, unknown>> = [];
  stderr = '';
  readonly #waiters = new Set<() => void>();
  readonly #exited: Promise<unknown>;

  private constructor(
    readonly child: ChildProcess,
    readonly dir: string,
    readonly sipPort: number,
  ) {
    this.#exited = once(child, 'exit');
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.lines.push(line);
      try {
        this.events.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // the start banner, if any
      }
      for (const wake of this.#waiters) wake();
    });
  }

  static async start(db: DemoProcess['info']['db']): Promise<PinServer> {
    const dir = mkdtempSync(join(tmpdir(), 'traceless-pin-'));
    const sipPort = await freeSipAndTcpPort();
    const mediaMin = 30000 + 2 * randomInt(900);
    writeFileSync(join(dir, 'pin.yaml'), PIN_FLOW);
    const config = {
      sip: { listeners: [{ transport: 'udp', address: '127.0.0.1', port: sipPort }], trustedPeers: ['127.0.0.0/8'] },
      media: { address: '127.0.0.1', portRange: { min: mediaMin, max: mediaMin + 99 } },
      cells: { max: 2 },
      numbers: { [PIN_LINE]: 'pin' },
      applications: { pin: { flow: join(dir, 'pin.yaml'), agentUri: 'sip:agent@127.0.0.1', backends: ['bank'] } },
      backends: {
        bank: {
          type: 'postgres',
          host: db.host,
          port: db.port,
          database: db.database,
          user: db.user,
          tls: { caFile: db.tls.ca, certFile: db.tls.cert, keyFile: db.tls.key, serverName: 'localhost' },
          // The PIN and the account travel as bound parameters; one row comes back when both have the keyed length.
          operations: { pinCheck: { sql: 'SELECT 1 AS ok WHERE length($1::text) = 8 AND length($2::text) = 6', params: ['account', 'pin'] } },
        },
      },
      admin: { address: '127.0.0.1', port: 0 },
      log: { level: 'trace' },
    };
    writeFileSync(join(dir, 'config.yaml'), JSON.stringify(config, null, 2));
    const child = spawn(join(ROOT, 'bin', 'traceless'), ['start', '-c', join(dir, 'config.yaml')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const server = new PinServer(child, dir, sipPort);
    try {
      await server.waitFor((e) => e.event === 'server.start', 0, 'server.start');
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  /** The first event at or after `from` that matches, and its index; fails on timeout or exit. */
  waitFor(match: (event: Record<string, unknown>) => boolean, from: number, what: string): Promise<{ event: Record<string, unknown>; index: number }> {
    return new Promise((resolve, reject) => {
      const look = (): boolean => {
        const index = this.events.findIndex((e, i) => i >= from && match(e));
        if (index < 0) return false;
        done();
        resolve({ event: this.events[index]!, index });
        return true;
      };
      const fail = (why: string): void => {
        done();
        reject(new Error(`no ${what} from the PIN server (${why}); last lines:\n${this.lines.slice(-10).join('\n')}\n${this.stderr.slice(-2000)}`));
      };
      const timer = setTimeout(() => fail('timeout'), WAIT_MS);
      const wake = (): void => void look();
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
      };
      if (look()) return;
      this.#waiters.add(wake);
      void this.#exited.then(() => this.#waiters.has(wake) && !look() && fail('it exited'));
    });
  }

  get adminUrl(): string {
    const start = this.events.find((e) => e.event === 'server.start');
    return `http://${String(start?.adminListener)}`;
  }

  /** SIGINT (every call ended, every cell wiped), bounded by a SIGKILL; removes the temp dir. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGINT');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
      await this.#exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

let demo: DemoProcess;
let pinServer: PinServer | undefined;
const phones: TestCall[] = [];
/** Every value a caller keyed in this file. */
const keyed: string[] = [];

before(async () => {
  demo = await DemoProcess.start({ args: ['--log-level', 'trace'] });
  pinServer = await PinServer.start(demo.info.db);
});

after(async () => {
  for (const phone of phones) phone.close();
  await pinServer?.stop();
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

// Short canaries are drawn from ranges no structural number of these runs takes, so that a
// whole-token match is a leak and never chance: ports are 20000 and above, SIP messages are
// longer than 200 bytes, statuses are 100 and 180–183, 127 is in every address, amounts
// are whole dollars.

/** MMYY with a leading zero: never the text of a count or a byte length. */
function expiry(): string {
  return `0${1 + randomInt(9)}${30 + randomInt(9)}`;
}

/** 102–179 except 127. */
function cvv(): string {
  const value = 102 + randomInt(77);
  return String(value === 127 ? 128 : value);
}

/** 10001–19999, never a whole number of dollars in cents. */
function zip(): string {
  const value = 10001 + randomInt(9999);
  return String(value % 100 === 0 ? value + 1 : value);
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
  await keys(phone, log, 'gatherSecret', canary(expiry()));
  await keys(phone, log, 'gatherSecret', `${canary(cvv())}#`);
  await keys(phone, log, 'gatherSecret', canary(zip()));
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
  await keys(phone, log, 'gatherSecret', canary(expiry()));
  await keys(phone, log, 'gatherSecret', `${canary(cvv())}#`);
  await keys(phone, log, 'gatherSecret', canary(zip()));
  await keys(phone, log, 'menu', '1');
  await keys(phone, log, 'menu', '0');
  await (await phone.referred).notified;
  await phone.ended;
  assert.equal((await log.cdr()).outcome, 'transferred');
});

test('PIN line at trace level: a canary account in a plain gather and a canary PIN bound into a database query', async () => {
  const server = pinServer!;
  const from = server.events.length;
  const phone = await TestCall.dial({ port: server.sipPort, dialled: PIN_LINE });
  phones.push(phone);
  const { event: start, index } = await server.waitFor((e) => e.event === 'call.start', from, 'call.start');
  assert.equal((await phone.answered).status, 200);
  const callId = start.callId;
  const ofCall = (match: (e: Record<string, unknown>) => boolean) => (e: Record<string, unknown>) => e.callId === callId && match(e);
  const opened = (e: Record<string, unknown>): boolean => e.event === 'flow.step' && e.kind === 'open';
  const account = await server.waitFor(ofCall(opened), index, 'the account entry');
  await phone.sendKeys(canary(digits(8, '5')));
  await server.waitFor(ofCall(opened), account.index + 1, 'the PIN entry');
  await phone.sendKeys(canary(`1${digits(5, String(randomInt(10)))}`));
  const { event: cdr } = await server.waitFor(ofCall((e) => e.event === 'cdr'), index, 'the call record');
  assert.equal(cdr.outcome, 'completed');
  assert.equal(await phone.ended, 'remote-bye');
  // The PIN reached the database and matched: the flow took the accepted branch.
  const query = server.events.find(ofCall((e) => e.event === 'backend.query'));
  assert.equal(query?.outcome, 'ok');
  assert.equal(query?.rows, 1);
  assert.ok(server.events.some(ofCall((e) => e.event === 'gather.done' && e.secure === true && e.keys === 6)), 'the PIN was a secure entry of six keys');
});

async function maskHits(metricsUrl: string): Promise<string[]> {
  const response = await fetch(metricsUrl);
  assert.equal(response.status, 200);
  return (await response.text()).split('\n').filter((line) => line.startsWith('traceless_log_mask_hits_total{'));
}

test('nothing keyed reached stdout or stderr, and the masker never had to step in', async () => {
  assert.ok(demo.events.some((e) => e.event === 'sip.trace'), 'trace level is on: SIP traces were written');
  assert.ok(pinServer!.events.some((e) => e.event === 'sip.trace'), 'trace level is on for the PIN line too');
  // The demo's lines are kept parsed; re-serialised they keep every value (the search decodes escapes anyway).
  const output = [
    ...demo.textLines,
    ...demo.events.map((e) => JSON.stringify(e)),
    ...demo.stderr.split('\n'),
    ...pinServer!.lines,
    ...pinServer!.stderr.split('\n'),
  ];
  assert.equal(keyed.length, 12, 'every canary was keyed');
  const findings = findCanaries(output, keyed).map(({ canary, where }) => `keyed value #${canary} (${keyed[canary]!.length} digits) at ${where}: ${output[Number(where.split(' ')[1])]?.slice(0, 400)}`);
  assert.deepEqual(findings, []);
  for (const url of [`http://${demo.info.admin.host}:${demo.info.admin.port}/metrics`, `${pinServer!.adminUrl}/metrics`]) {
    const hits = await maskHits(url);
    assert.equal(hits.length, 2, 'both masker rules are exported');
    for (const line of hits) assert.match(line, / 0$/, `the masker changed a line: ${line}`);
  }
});
