// Child-process body of the pool soak (pool-soak.test.ts): simulated callers push calls
// through a small pool and the results come back as one JSON line on stdout.
// Run with --expose-gc and a fixed young generation (see the test for why).
import { CellPool, RELEASE_REASONS } from '../../src/vault/index.ts';
import type { Cell, SecretKind, VaultStats } from '../../src/vault/index.ts';

export interface SoakResult {
  calls: number;
  cells: number;
  stats: VaultStats;
  unverified: number;
  openPorts: number;
  busySignals: number;
  failures: string[];
  rssAfterWarmUp: number;
  rssAtEnd: number;
}

const CELLS = 32;
const SLOTS = 4;
const CALLERS = 48; // more callers than cells, so the pool runs full and callers queue
const WARM_UP = 2_000;
const MEASURED = 10_000;
const TOTAL = WARM_UP + MEASURED;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');
const yieldTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const randomDigit = () => Math.floor(Math.random() * 10);

function gather(cell: Cell, kind: SecretKind, length: number) {
  const builder = cell.secretBuilder({ kind, maxLength: length });
  for (let i = 0; i < length; i++) builder.pushKey(randomDigit());
  return builder.finish();
}

function settledRss(): number {
  gc!();
  gc!();
  return process.memoryUsage().rss;
}

const pool = new CellPool({ cells: CELLS, slotsPerCell: SLOTS });
// Callers that got "busy" wait in line; each release wakes the first one to redial.
const waiting: Array<() => void> = [];
const failures: string[] = [];
let openPorts = 0;
let started = 0;
let unverified = 0;
let busySignals = 0;
let rssAfterWarmUp = 0;
pool.on('released', (report) => {
  if (!report.wipe.verified) unverified += 1;
  waiting.shift()?.();
});

async function call(cell: Cell): Promise<void> {
  openPorts += 1;
  let closed = false;
  cell.attach({
    close: () => {
      if (!closed) openPorts -= 1;
      closed = true;
    },
  });
  // Every slot is used, so a slot not reclaimed by the previous call's wipe would throw here.
  const pan = gather(cell, 'pan', 16);
  await yieldTurn();
  const expiry = gather(cell, 'expiry', 4);
  const cvv = gather(cell, 'cvv', 3);
  cell.values.set('balance', { cents: 6500 });
  const account = cell.importSecret('account', Buffer.from([0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38]));
  await yieldTurn();
  pan.luhnValid();
  pan.cardBrand();
  expiry.expiryValid(new Date());
  if (cvv.length() !== 3 || account.last4() !== '5678') failures.push('secret read back wrong');
}

async function caller(): Promise<void> {
  while (started < TOTAL) {
    const cell = pool.acquire();
    if (cell === null) {
      busySignals += 1; // SIP would answer 503; this caller redials when a cell frees up
      await new Promise<void>((resolve) => waiting.push(resolve));
      continue;
    }
    started += 1;
    try {
      await call(cell);
    } catch (error) {
      failures.push(error instanceof Error ? error.name : 'unknown');
    }
    cell.release(RELEASE_REASONS[started % RELEASE_REASONS.length]!);
    if (started === WARM_UP) rssAfterWarmUp = settledRss();
  }
}

await Promise.all(Array.from({ length: CALLERS }, caller));
const result: SoakResult = {
  calls: started,
  cells: CELLS,
  stats: pool.stats,
  unverified,
  openPorts,
  busySignals,
  failures,
  rssAfterWarmUp,
  rssAtEnd: settledRss(),
};
process.stdout.write(`${JSON.stringify(result)}\n`);
