// Child-process body of the pool soak (pool-soak.test.ts): simulated callers push calls
// through a small pool and the results come back as one JSON line on stdout. Each call holds
// what a real call holds: an RTP/RTCP port pair leased from a PortPool and bound as two UDP
// sockets on 127.0.0.1 (src/media/rtp-ports.ts), closed and returned by the cell's release
// cascade, plus secrets in its arena and a call-scoped value.
// Run with --expose-gc and a fixed young generation (see the test for why).
import { readdirSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { CellPool, RELEASE_REASONS } from '../../src/vault/index.ts';
import type { Cell, SecretKind, VaultStats } from '../../src/vault/index.ts';
import { PortPool } from '../../src/media/port-pool.ts';
import { bindRtpPorts } from '../../src/media/rtp-ports.ts';

/** What the process holds when no call is up: compared after the warm-up and at the end. */
export interface IdleState {
  rss: number;
  /** Port pairs free in the PortPool. */
  freePortPairs: number;
  /** Entries of /proc/self/fd. */
  openFds: number;
  /** process.getActiveResourcesInfo() but Immediates, sorted: handles, timers and requests keeping the loop alive. */
  activeResources: string[];
}

export interface SoakResult {
  calls: number;
  cells: number;
  portPairs: number;
  stats: VaultStats;
  unverified: number;
  busySignals: number;
  failures: string[];
  afterWarmUp: IdleState;
  atEnd: IdleState;
}

const CELLS = 32;
const SLOTS = 4;
const CALLERS = 48; // more callers than cells, so the pool runs full and callers queue
/** Twice the cells: freed pairs rest in the FIFO before reuse, as in the server. */
const PORT_PAIRS = 2 * CELLS;
const WARM_UP = 2_000;
const MEASURED = 10_000;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');
const yieldTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const randomDigit = () => randomInt(10);

function gather(cell: Cell, kind: SecretKind, length: number) {
  const builder = cell.secretBuilder({ kind, maxLength: length });
  for (let i = 0; i < length; i++) builder.pushKey(randomDigit());
  return builder.finish();
}

// A random even base in the high range; a pair another process holds is skipped by bindRtpPorts.
const portBase = 2 * randomInt(20_000, 30_000 - PORT_PAIRS);
const ports = new PortPool({ min: portBase, max: portBase + 2 * PORT_PAIRS - 1 });
const pool = new CellPool({ cells: CELLS, slotsPerCell: SLOTS });
// Callers that got "busy" wait in line; each release wakes the first one to redial.
const waiting: Array<() => void> = [];
const failures: string[] = [];
let started = 0;
let unverified = 0;
let busySignals = 0;
pool.on('released', (report) => {
  if (!report.wipe.verified) unverified += 1;
  waiting.shift()?.();
});

async function idleState(): Promise<IdleState> {
  // A loop turn lets closed sockets' handles finish closing before they are counted.
  await yieldTurn();
  gc!();
  gc!();
  return {
    rss: process.memoryUsage().rss,
    freePortPairs: ports.available,
    openFds: readdirSync('/proc/self/fd').length,
    // An Immediate runs on the next turn by nature, so it cannot pile up across calls; Node's
    // count of them also lags (one shows after the warm-up though none is pending), so they are
    // left out. Timers, sockets and every other handle are compared.
    activeResources: process.getActiveResourcesInfo().filter((type) => type !== 'Immediate').sort(),
  };
}

async function call(cell: Cell): Promise<void> {
  const bound = await bindRtpPorts(ports, '127.0.0.1');
  if (!bound.ok) {
    failures.push(bound.error.code);
    return;
  }
  const { rtp, rtcp, lease } = bound.ports;
  // What RtpSession.close does with its ports: close both sockets, return the pair.
  cell.attach({
    close: () => {
      rtp.close();
      rtcp.close();
      lease.release();
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

async function caller(until: number): Promise<void> {
  while (started < until) {
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
  }
}

/** Callers place calls until `until` have started, then every call is over. */
async function phase(until: number): Promise<void> {
  await Promise.all(Array.from({ length: CALLERS }, () => caller(until)));
}

await phase(WARM_UP);
const afterWarmUp = await idleState();
await phase(WARM_UP + MEASURED);
const atEnd = await idleState();
const result: SoakResult = {
  calls: started,
  cells: CELLS,
  portPairs: PORT_PAIRS,
  stats: pool.stats,
  unverified,
  busySignals,
  failures,
  afterWarmUp,
  atEnd,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
