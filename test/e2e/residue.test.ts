// The end-to-end residue test (issue 5): a RAM scrape of the IVR after real calls. The demo
// (its own process, with its city database and mTLS test gateway as separate processes) takes
// 200 calls over SIP and RTP, several at once; callers key canary values as RFC 4733 events:
// unique Luhn-valid card numbers (approved by the gateway, or rejected as an unknown brand),
// expiry dates, security codes and ZIPs, unknown citation numbers and keypad plates. Calls end
// by the IVR's BYE after payment, the caller's BYE, CANCEL before the IVR answers, transfer
// to an agent (REFER), and media inactivity; each of these endings must occur. Then the server
// runs full GCs (test-only hook, src/server/test-hooks.ts) and every readable mapping of
// /proc/<IVR pid>/mem is counted for each canary as ASCII, UTF-16LE and one key value per
// byte: 0. So are its whole stdout/stderr (read after it exited, shutdown lines included) and
// every file written during the run on every storage mount. While calls run the IVR writes
// nothing to storage (/proc/<pid>/io write_bytes unchanged) and holds no regular file open for
// writing. A second, deliberately leaking build must be caught by the same scan, proving the
// scan can fail.
//
// Only the IVR process is scraped: the database and gateway stand for the customer's systems.
//
// Short values (a 3-4 digit security code, a 4-digit expiry, a 5-digit ZIP) occur by chance
// many times in any process image, so they cannot be counted one by one. They are keyed as
// per-call random values on the same secure path as the card number, and counted as one
// 12-digit composite (expiry, code, ZIP in key order): a key log or a request body kept
// anywhere would hold it. Canaries hold no "00" so zero-filled pages are skipped quickly.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { promisify } from 'node:util';
import { DemoCallLog, DemoProcess } from '../support/demo-process.ts';
import { TestCall, type SipTransportKind } from '../support/test-caller.ts';
import { MANY_CANARIES, scanBytes, scanFile, scanProcessMemory, type ScanResult } from '../support/memory-scan.ts';
import { connectAuditor } from '../../apps/parking/auditor.ts';

const CALLS = 200;
const CONCURRENCY = 32;
/** Three 'unknown' calls key nine canaries: more than MANY_CANARIES, so the leak run uses the main run's matcher. */
const LEAK_CALLS = 3;
/** The demo's media inactivity for this test (the CLI's minimum), so dead-media calls end soon. */
const MEDIA_TIMEOUT_SECONDS = 5;
/** A documented ticket that stays unpaid: calls that never pay look it up. */
const LOOKUP_ONLY_CITATION = '23456789';

const run = promisify(execFile);
const demos: DemoProcess[] = [];
const phones: TestCall[] = [];
const scratch = mkdtempSync(join(tmpdir(), 'traceless-residue-'));

after(async () => {
  for (const phone of phones) phone.close();
  for (const demo of demos) await demo.stop().catch(() => undefined);
  rmSync(scratch, { recursive: true, force: true });
});

// ---- canaries ------------------------------------------------------------------------

const taken = new Set<string>();

/** Random digits with no "00", never one used before; `prefix` fixes the first digits. */
function canary(length: number, prefix = '', last?: (body: string) => string): string {
  for (;;) {
    let digits = prefix;
    while (digits.length < (last ? length - 1 : length)) digits += String(randomInt(10));
    if (last) digits += last(digits);
    if (!digits.includes('00') && !taken.has(digits)) {
      taken.add(digits);
      return digits;
    }
  }
}

/** The Luhn check digit for `body` (ISO/IEC 7812-1 Annex B). */
function luhnDigit(body: string): string {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let digit = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  }
  return String((10 - (sum % 10)) % 10);
}

const visa = (): string => canary(16, '4', luhnDigit);
const amex = (): string => canary(15, randomInt(2) === 0 ? '34' : '37', luhnDigit);
/** Luhn-valid but no brand the gateway knows (IIN 9): it crosses the gateway and is rejected. */
const noBrand = (): string => canary(16, '9', luhnDigit);
const citation = (): string => canary(8, String(1 + randomInt(4)));
const plate = (): string => canary(8, String(2 + randomInt(8)));

/** Expiry MMYY (valid, 2027-2039), security code and ZIP, keyed apart and counted as one composite. */
function cardExtras(cvvDigits: 3 | 4): { expiry: string; cvv: string; zip: string } {
  for (;;) {
    const expiry = `${String(1 + randomInt(12)).padStart(2, '0')}${27 + randomInt(13)}`;
    const cvv = String(randomInt(10 ** (cvvDigits - 1), 10 ** cvvDigits));
    const zip = String(randomInt(10_000, 100_000));
    const composite = `${expiry}${cvv}${zip}`;
    if (!composite.includes('00') && !taken.has(composite)) {
      taken.add(composite);
      return { expiry, cvv, zip };
    }
  }
}

// ---- driving calls -------------------------------------------------------------------

interface Driver {
  demo: DemoProcess;
  canaries: string[];
  /** Unpaid generated tickets, one per approved payment. */
  unpaid: string[];
  /** How calls ended, by scenario and hang-up cause (`scenario:cause`). */
  endings: Map<string, number>;
  /** Regular files the IVR was seen holding open for writing (sampled at each call's end). */
  openForWriting: Set<string>;
  /** Serialises call set-up: call.start carries no SIP identifier, so one set-up at a time. */
  setup: Promise<unknown>;
}

function exclusive<T>(driver: Driver, work: () => Promise<T>): Promise<T> {
  const result = driver.setup.then(work);
  driver.setup = result.catch(() => undefined);
  return result;
}

/**
 * The call rate, like a load generator's (sipp -r): every caller is 127.0.0.1, and the IVR
 * admits at most 20 INVITEs a second from one source (config sip.invitesPerSecondPerSource).
 */
const INVITE_SPACING_MS = 70;
let lastInvite = 0;

async function paced(): Promise<void> {
  const wait = lastInvite + INVITE_SPACING_MS - performance.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  lastInvite = performance.now();
}

interface Dialled {
  phone: TestCall;
  log: DemoCallLog;
  /** The CANCEL's final status, for a call dialled with `cancel`. */
  cancelled?: Promise<number>;
}

/**
 * Places a call and finds its id (its call.start line) while no other call is being set up.
 *
 * `cancel`: the CANCEL reaches the IVR before it can answer (§9.1), every time. The IVR has no
 * ringing phase: it answers as soon as the call's media ports are bound, a few event-loop turns
 * after the INVITE, so a CANCEL sent after the INVITE mostly arrives too late (then §9.2 says it
 * has no effect). So the IVR is paused (SIGSTOP) while the INVITE and the CANCEL go out on one
 * TCP connection, and resumed: it reads both from its socket buffer in one read and handles the
 * CANCEL in the same turn as the INVITE, before its answer — as when a CANCEL overtakes the IVR's
 * work on the INVITE. The pause lasts the caller's connect and two writes; the other calls' media
 * only waits.
 */
function dial(driver: Driver, transport: SipTransportKind, cancel = false): Promise<Dialled> {
  return exclusive(driver, async () => {
    const { demo } = driver;
    await paced();
    const from = demo.cursor;
    let phone: TestCall;
    let cancelled: Promise<number> | undefined;
    if (cancel) {
      demo.signal('SIGSTOP');
      try {
        phone = await TestCall.dial({ port: demo.info.sip.port, transport: 'tcp' });
        phones.push(phone);
        cancelled = phone.cancel();
      } finally {
        demo.signal('SIGCONT');
      }
    } else {
      phone = await TestCall.dial({ port: demo.info.sip.port, transport });
      phones.push(phone);
    }
    // A refused INVITE has no call.start line: fail with its status instead of waiting.
    const refused = phone.answered.then(() => new Promise<never>(() => undefined), (error: Error) => {
      if (cancel) return new Promise<never>(() => undefined);
      throw error;
    });
    const { event, index } = await Promise.race([demo.waitFor((e) => e.event === 'call.start', { from, what: 'call.start' }), refused]);
    return { phone, log: new DemoCallLog(demo, String(event.callId), index), ...(cancelled ? { cancelled } : {}) };
  });
}

async function keys(phone: TestCall, log: DemoCallLog, step: 'gather' | 'gatherSecret' | 'menu', digits: string): Promise<void> {
  await log.nextInput(step);
  await phone.sendKeys(digits);
}

async function answered(phone: TestCall, log: DemoCallLog): Promise<void> {
  assert.equal((await phone.answered).status, 200);
  await log.next((e) => e.event === 'call.answer', 'call.answer');
}

/** Card, expiry, code and ZIP as the pay step asks for them; returns nothing the flow decides. */
async function keyCard(driver: Driver, phone: TestCall, log: DemoCallLog, pan: string, cvvDigits: 3 | 4): Promise<void> {
  const { expiry, cvv, zip } = cardExtras(cvvDigits);
  driver.canaries.push(pan, `${expiry}${cvv}${zip}`);
  await keys(phone, log, 'gatherSecret', `${pan}#`);
  await keys(phone, log, 'gatherSecret', expiry);
  await keys(phone, log, 'gatherSecret', cvvDigits === 3 ? `${cvv}#` : cvv);
  await keys(phone, log, 'gatherSecret', zip);
}

async function ended(driver: Driver, scenario: string, phone: TestCall, log: DemoCallLog, outcome: string, cause?: string): Promise<void> {
  for (const path of filesOpenForWriting(driver.demo.pid)) driver.openForWriting.add(path);
  const cdr = await log.cdr();
  const wipe = await log.next((e) => e.event === 'cell.wipe', 'cell.wipe');
  assert.equal(wipe.verified, true, 'the cell wipe was read back as zero');
  assert.equal(cdr.outcome, outcome, `${scenario}: outcome (steps ${JSON.stringify(cdr.steps)}, cause ${String(cdr.hangupCause)})`);
  if (cause) assert.equal(cdr.hangupCause, cause, `${scenario}: hang-up cause`);
  phone.close();
  const key = `${scenario}:${String(cdr.hangupCause)}`;
  driver.endings.set(key, (driver.endings.get(key) ?? 0) + 1);
}

const payments = (log: DemoCallLog): string[] => log.all().filter((e) => e.event === 'payment.result').map((e) => String(e.result));

type Scenario = (driver: Driver, transport: SipTransportKind) => Promise<void>;

const SCENARIOS: Record<string, Scenario> = {
  /** Pays with a canary card (approved); half key an unknown canary citation first. IVR hangs up. */
  async paid(driver, transport) {
    const ticket = driver.unpaid.pop();
    assert.ok(ticket, 'an unpaid ticket is left to pay');
    const { phone, log } = await dial(driver, transport);
    await answered(phone, log);
    await keys(phone, log, 'menu', '1');
    await keys(phone, log, 'menu', '1');
    if (randomInt(2) === 0) {
      const unknown = citation();
      driver.canaries.push(unknown);
      await keys(phone, log, 'gatherSecret', `${unknown}#`);
    }
    await keys(phone, log, 'gatherSecret', `${ticket}#`);
    await keys(phone, log, 'menu', '1');
    const pan = randomInt(3) === 0 ? amex() : visa();
    await keyCard(driver, phone, log, pan, pan.length === 15 ? 4 : 3);
    await keys(phone, log, 'menu', '1');
    await keys(phone, log, 'menu', '2'); // after the confirmation number: not "repeat", so goodbye
    assert.equal(await phone.ended, 'remote-bye');
    await ended(driver, 'paid', phone, log, 'completed', 'local-bye');
    assert.deepEqual(payments(log), ['approved']);
  },
  /** A Luhn-valid card of no known brand: the gateway rejects it; 0 → agent (REFER). */
  async rejected(driver, transport) {
    const { phone, log } = await dial(driver, transport);
    await answered(phone, log);
    await keys(phone, log, 'menu', '1');
    await keys(phone, log, 'menu', '1');
    await keys(phone, log, 'gatherSecret', `${LOOKUP_ONLY_CITATION}#`);
    await keys(phone, log, 'menu', '1');
    await keyCard(driver, phone, log, noBrand(), 3);
    await keys(phone, log, 'menu', '1');
    await keys(phone, log, 'menu', '0');
    assert.equal(await (await phone.referred).notified, 200);
    await phone.ended;
    await ended(driver, 'rejected', phone, log, 'transferred', 'transfer');
    assert.deepEqual(payments(log), ['rejected']);
  },
  /** An unknown canary plate, then the caller hangs up (BYE) at the second plate prompt. */
  async plate(driver, transport) {
    const keyed = plate();
    driver.canaries.push(keyed);
    const { phone, log } = await dial(driver, transport);
    await answered(phone, log);
    await keys(phone, log, 'menu', '1');
    await keys(phone, log, 'menu', '2');
    await keys(phone, log, 'gatherSecret', `${keyed}#`);
    await keys(phone, log, 'gather', '01');
    await log.nextInput('gatherSecret');
    assert.equal(await phone.hangup(), 200);
    await ended(driver, 'plate', phone, log, 'abandoned', 'remote-bye');
  },
  /** Three unknown canary citations → agent. */
  async unknown(driver, transport) {
    const { phone, log } = await dial(driver, transport);
    await answered(phone, log);
    await keys(phone, log, 'menu', '1');
    await keys(phone, log, 'menu', '1');
    for (let i = 0; i < 3; i++) {
      const keyed = citation();
      driver.canaries.push(keyed);
      await keys(phone, log, 'gatherSecret', `${keyed}#`);
    }
    assert.equal(await (await phone.referred).notified, 200);
    await phone.ended;
    await ended(driver, 'unknown', phone, log, 'transferred', 'transfer');
  },
  /** CANCEL before the IVR answers (see dial): 200 to the CANCEL, 487 to the INVITE, always over TCP. */
  async cancel(driver, transport) {
    const { phone, log, cancelled } = await dial(driver, transport, true);
    assert.equal(await cancelled, 200, 'the CANCEL was answered 200');
    await assert.rejects(phone.answered, /INVITE failed: 487/, 'the INVITE ended 487 Request Terminated');
    assert.equal(await phone.ended, 'cancelled');
    await ended(driver, 'cancel', phone, log, 'abandoned', 'cancel');
    assert.equal(log.all().some((e) => e.event === 'call.answer'), false, 'the IVR never answered');
  },
  /** An unknown canary citation, then the caller's RTP stops: the IVR hangs up on inactivity. */
  async silent(driver, transport) {
    const keyed = citation();
    driver.canaries.push(keyed);
    const { phone, log } = await dial(driver, transport);
    await answered(phone, log);
    await keys(phone, log, 'menu', '1');
    await keys(phone, log, 'menu', '1');
    await keys(phone, log, 'gatherSecret', `${keyed}#`);
    await log.nextInput('gatherSecret');
    phone.stopMedia();
    assert.equal(await phone.ended, 'remote-bye');
    await ended(driver, 'silent', phone, log, 'abandoned', 'media-timeout');
  },
  /** Card, expiry, code and ZIP in the arena, then the caller hangs up at the confirmation. */
  async hangupAtConfirm(driver, transport) {
    const { phone, log } = await dial(driver, transport);
    await answered(phone, log);
    await keys(phone, log, 'menu', '1');
    await keys(phone, log, 'menu', '1');
    await keys(phone, log, 'gatherSecret', `${LOOKUP_ONLY_CITATION}#`);
    await keys(phone, log, 'menu', '1');
    await keyCard(driver, phone, log, amex(), 4);
    await log.nextInput('menu');
    assert.equal(await phone.hangup(), 200);
    await ended(driver, 'hangup-at-confirm', phone, log, 'abandoned', 'remote-bye');
  },
};

/** Ten calls' mix: four payments, one of each other ending. */
const MIX = ['paid', 'rejected', 'paid', 'plate', 'unknown', 'paid', 'cancel', 'silent', 'paid', 'hangupAtConfirm'] as const;

async function driveCalls(driver: Driver, count: number, mix: readonly string[]): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      const scenario = SCENARIOS[mix[index % mix.length]!]!;
      await scenario(driver, index % 3 === 1 ? 'tcp' : 'udp');
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, count) }, worker));
}

async function startDriver(env: NodeJS.ProcessEnv, unpaidNeeded: number): Promise<Driver> {
  const demo = await DemoProcess.start({
    args: ['--media-timeout', String(MEDIA_TIMEOUT_SECONDS)],
    // --expose-gc only lets the test hook call gc(); the hardening check allows it.
    env: { NODE_OPTIONS: '--expose-gc', TRACELESS_TEST_GC: '1', ...env },
  });
  demos.push(demo);
  const db = await connectAuditor(demo.info.db);
  try {
    const { rows } = await db.query(
      "SELECT citation FROM tickets WHERE status = 'unpaid' AND citation >= '50000000' ORDER BY citation LIMIT $1",
      [unpaidNeeded],
    );
    return { demo, canaries: [], unpaid: rows.map((row: { citation: string }) => row.citation), endings: new Map(), openForWriting: new Set(), setup: Promise.resolve() };
  } finally {
    await db.end();
  }
}

/** Full GCs in the IVR (test hook), then the scrape. */
async function scrape(driver: Driver): Promise<ScanResult> {
  const gc = await driver.demo.admin('/test/gc', 'POST');
  assert.equal(gc.status, 204, 'the test GC hook is on');
  return scanProcessMemory(driver.demo.pid, driver.canaries);
}

/**
 * Stops the demo and scans everything it wrote to stdout and stderr, byte for byte, read after
 * the process exited and its pipes closed (shutdown lines included). A capped stderr would hide
 * what came after the cap, so that fails the test.
 */
async function stopAndScanOutput(driver: Driver): Promise<ScanResult> {
  const { demo } = driver;
  await demo.stop();
  await demo.whenClosed();
  assert.equal(demo.stderrTruncated, false, 'the whole of stderr was captured');
  return scanBytes(Buffer.concat([demo.stdoutBytes(), Buffer.from(demo.stderr, 'utf8')]), driver.canaries);
}

/** Which canaries were found and in which forms, without printing the canaries themselves. */
function found(result: ScanResult, canaries: readonly string[]): string {
  return canaries
    .map((value, i) => ({ i, length: value.length, counts: result.counts.get(value)! }))
    .filter(({ counts }) => counts.ascii + counts.utf16le + counts.digitBytes > 0)
    .map(({ i, length, counts }) => `#${i} (${length} digits): ${JSON.stringify(counts)}`)
    .join('; ');
}

// ---- writes ---------------------------------------------------------------------------

/** Bytes the process has caused to be written to storage (proc(5) /proc/<pid>/io write_bytes). */
function storageWriteBytes(pid: number): number {
  const match = /^write_bytes:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
  assert.ok(match, `/proc/${pid}/io has write_bytes`);
  return Number(match[1]);
}

/**
 * Regular files the process holds open for writing: the fds whose target is a regular file and
 * whose open flags (/proc/<pid>/fdinfo, octal) have O_WRONLY or O_RDWR in the access mode.
 * Pipes, sockets and devices (stdout, /dev/null) are not files on storage.
 */
function filesOpenForWriting(pid: number): string[] {
  const open: string[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (!statSync(`/proc/${pid}/fd/${fd}`).isFile()) continue;
      const flags = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      if (flags && (parseInt(flags[1]!, 8) & 0o3) !== 0) open.push(readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      // closed since readdir listed it
    }
  }
  return open;
}

/** Filesystem types that hold no files anyone writes: kernel interfaces and pseudo-filesystems. */
const PSEUDO_FILESYSTEMS = new Set([
  'proc', 'sysfs', 'cgroup', 'cgroup2', 'devpts', 'mqueue', 'debugfs', 'tracefs', 'securityfs', 'pstore',
  'bpf', 'configfs', 'fusectl', 'binfmt_misc', 'autofs', 'nsfs', 'rpc_pipefs', 'efivarfs', 'selinuxfs', 'hugetlbfs',
]);

/**
 * Every mount a file could be written to, from /proc/self/mounts (fstab(5) fields, octal escapes
 * such as \040 for a space): disks, overlays, tmpfs and devtmpfs. Left out: pseudo-filesystems,
 * read-only mounts (nothing can be written there) and anything under /proc or /sys.
 */
function storageMounts(): string[] {
  const roots = new Set<string>();
  for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const [, escaped, type, options] = line.split(' ');
    if (escaped === undefined || type === undefined || options === undefined) continue;
    const mountpoint = escaped.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
    if (PSEUDO_FILESYSTEMS.has(type) || options.split(',').includes('ro')) continue;
    if (/^\/(proc|sys)(\/|$)/.test(mountpoint)) continue;
    roots.add(mountpoint);
  }
  return [...roots];
}

/** Every regular file written since the marker, on every storage mount (each walked with -xdev). */
async function filesWrittenSince(marker: string): Promise<string[]> {
  const roots = storageMounts();
  assert.ok(roots.includes('/'), 'the root filesystem is among the storage mounts');
  // This test's own scratch directory (the marker file and nothing else), and the city database's
  // data directory (apps/parking/city-db.ts, traceless-citydb-*): it belongs to the customer's
  // system, as the database process does; only the IVR must keep nothing.
  const prune = [scratch, join(tmpdir(), 'traceless-citydb-*')];
  const args = [...roots, '-xdev', '('];
  prune.forEach((path, i) => args.push(...(i > 0 ? ['-o'] : []), '-path', path));
  args.push(')', '-prune', '-o', '-type', 'f', '-newer', marker, '-print');
  const { stdout } = await run('find', args, { maxBuffer: 64 * 1024 * 1024 }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
  return [...new Set(stdout.split('\n').filter(Boolean))];
}

/** Hang-up causes the run must have seen: every way a call ends. */
const REQUIRED_CAUSES = ['cancel', 'media-timeout', 'transfer', 'remote-bye', 'local-bye'];

test(`no canary in the IVR's memory, output or files after ${CALLS} calls with payments`, { timeout: 300_000 }, async () => {
  const marker = join(scratch, 'marker');
  writeFileSync(marker, '');
  const driver = await startDriver({}, CALLS);
  const { demo, canaries } = driver;
  const writtenBefore = storageWriteBytes(demo.pid);
  const openBefore = filesOpenForWriting(demo.pid);
  const startedAt = performance.now();
  await driveCalls(driver, CALLS, MIX);
  const callsMs = performance.now() - startedAt;
  assert.equal(storageWriteBytes(demo.pid) - writtenBefore, 0, 'the IVR wrote nothing to storage while calls ran');
  assert.deepEqual([...openBefore, ...driver.openForWriting, ...filesOpenForWriting(demo.pid)], [], 'the IVR held no file open for writing');

  const causes = new Set([...driver.endings.keys()].map((key) => key.split(':')[1]));
  for (const cause of REQUIRED_CAUSES) assert.ok(causes.has(cause), `some call ended by ${cause}: ${JSON.stringify([...driver.endings])}`);

  const memory = await scrape(driver);
  assert.ok(memory.bytesScanned > 50_000_000, 'the whole process image was read');
  assert.ok(canaries.length >= CALLS, 'every call but the CANCELs keyed at least one canary');
  assert.equal(memory.total, 0, `canaries in the IVR's memory: ${found(memory, canaries)}`);

  const output = await stopAndScanOutput(driver);
  assert.equal(demo.exitCode, 0);
  assert.equal(output.total, 0, `canaries in the IVR's stdout/stderr: ${found(output, canaries)}`);
  assert.equal(demo.events.filter((e) => e.event === 'cdr').length, CALLS, 'one call record per call');

  const written = await filesWrittenSince(marker);
  const leaks: string[] = [];
  let bytes = 0;
  for (const path of written) {
    let result: ScanResult;
    try {
      if (statSync(path).size === 0) continue;
      result = scanFile(path, canaries);
    } catch {
      continue; // gone since find listed it
    }
    bytes += result.bytesScanned;
    if (result.total > 0) leaks.push(`${path}: ${found(result, canaries)}`);
  }
  assert.deepEqual(leaks, [], 'files written during the run hold canaries');
  const endings = JSON.stringify(Object.fromEntries([...driver.endings].sort()));
  process.stdout.write(
    `# residue: ${CALLS} calls in ${(callsMs / 1000).toFixed(1)} s, ${canaries.length} canaries, ` +
      `${(memory.bytesScanned / 1e6).toFixed(0)} MB of memory, ${(output.bytesScanned / 1e6).toFixed(1)} MB of output and ` +
      `${written.length} files (${(bytes / 1e6).toFixed(1)} MB) on ${storageMounts().length} mounts scanned; endings ${endings}\n`,
  );
});

test('a deliberately leaking build is caught by the same scan', { timeout: 120_000 }, async () => {
  const driver = await startDriver({ TRACELESS_TEST_LEAK_CANARY: 'leak-keyed-digits-into-memory' }, LEAK_CALLS);
  assert.ok(driver.demo.events.some((e) => e.event === 'security.warning' && e.code === 'test-leak-canary'), 'the leaking build says so at start');
  await driveCalls(driver, LEAK_CALLS, ['unknown']);
  assert.ok(driver.canaries.length > MANY_CANARIES, "enough canaries for the main run's one-pass matcher");
  const memory = await scrape(driver);
  for (const [i, value] of driver.canaries.entries()) {
    const counts = memory.counts.get(value)!;
    assert.ok(counts.ascii > 0, `leaked canary #${i} found as ASCII`);
  }
  // The leak is in memory only: the output scan runs as in the main test and finds nothing, so it
  // was the memory scan that caught the leak.
  const output = await stopAndScanOutput(driver);
  assert.ok(output.bytesScanned > 0, 'the output was scanned');
  assert.equal(output.total, 0, `canaries in the leaking build's stdout/stderr: ${found(output, driver.canaries)}`);
});
