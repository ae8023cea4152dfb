// Vault cost figures (issue 5 "Measured"): wipe time per call, the price of keeping idle
// arenas PROT_NONE, arena memory per cell, and secure vs plain gather.
// Run: node --import tsx --expose-gc bench/vault-wipe.ts [--json]
import os from 'node:os';
import { SecureArena } from '../src/vault/arena.ts';
import { CellPool } from '../src/vault/index.ts';
import type { Cell } from '../src/vault/index.ts';
import { lockedBytesFor } from '../src/vault/memory-lock.ts';

const PAGE = 4096;
const CALLS = 20_000;
/** The server's arena size: config cells.secretsPerCall defaults to 32 slots of 32 bytes. */
const SLOTS_PER_CELL = 32;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Figures {
  p50: number;
  p99: number;
  mean: number;
}

function summary(samples: number[]): Figures {
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), mean: samples.reduce((a, b) => a + b, 0) / samples.length };
}

function timeEach(runs: number, fn: (i: number) => void): Figures {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    fn(i);
    samples.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  return summary(samples);
}

function simulatedCall(cell: Cell): void {
  const pan = cell.secretBuilder({ kind: 'pan', maxLength: 19 });
  for (let i = 0; i < 16; i++) pan.pushKey(i % 10);
  const card = pan.finish();
  card.luhnValid();
  card.cardBrand();
  const cvv = cell.secretBuilder({ kind: 'cvv', maxLength: 4 });
  for (let i = 0; i < 3; i++) cvv.pushKey(i);
  cvv.finish();
}

function poolFigures(protectIdle: boolean) {
  const pool = new CellPool({ cells: 8, slotsPerCell: SLOTS_PER_CELL, protectIdle });
  const wipes: number[] = [];
  pool.on('released', (report) => wipes.push(report.wipeSeconds * 1e6));
  const calls = protectIdle ? CALLS / 10 : CALLS;
  const perCall = timeEach(calls, () => {
    const cell = pool.acquire()!;
    simulatedCall(cell);
    cell.release('completed');
  });
  wipes.sort((a, b) => a - b);
  return { calls, callUs: perCall, wipeUs: { p50: percentile(wipes, 50), p99: percentile(wipes, 99), max: wipes.at(-1)! } };
}

function accessFigures(protectIdle: boolean) {
  const arena = new SecureArena({ slotSize: 32, slotCount: SLOTS_PER_CELL, protectIdle });
  const runs = protectIdle ? 2_000 : 20_000;
  return timeEach(runs, (i) => arena.access((memory) => (memory[0] = i & 0xff)));
}

const GATHER_KEYS = 16;

/** The Luhn check over a plain digit string: the same work the secure side does on its Secret. */
function plainLuhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = digits.charCodeAt(digits.length - 1 - i) - 0x30;
    if (i % 2 === 1) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  }
  return sum % 10 === 0;
}

/**
 * Secure vs plain gather, like with like: both time the same work — 16 keys stored, the value
 * finished, a Luhn check — inside a call that is already up. The cell's acquire and release
 * happen outside the timed region (every call pays them whatever it gathers; they are in
 * "whole call" above); the secure cycle with them is reported apart.
 */
function gatherFigures() {
  const pool = new CellPool({ cells: 1, slotsPerCell: SLOTS_PER_CELL });
  const secureSamples: number[] = [];
  const cycleSamples: number[] = [];
  for (let run = 0; run < CALLS; run++) {
    const cycleStart = process.hrtime.bigint();
    const cell = pool.acquire()!;
    const start = process.hrtime.bigint();
    const builder = cell.secretBuilder({ kind: 'pan', maxLength: 19 });
    for (let i = 0; i < GATHER_KEYS; i++) builder.pushKey(i % 10);
    builder.finish().luhnValid();
    const end = process.hrtime.bigint();
    cell.release('completed');
    secureSamples.push(Number(end - start) / 1000);
    cycleSamples.push(Number(process.hrtime.bigint() - cycleStart) / 1000);
  }
  let sink = 0;
  const plain = timeEach(CALLS, () => {
    let digits = '';
    for (let i = 0; i < GATHER_KEYS; i++) digits += String(i % 10);
    if (plainLuhn(digits)) sink += digits.length;
  });
  const secure = summary(secureSamples);
  return {
    keys: GATHER_KEYS,
    secureUs: secure,
    plainUs: plain,
    perKeyUs: { secure: secure.mean / GATHER_KEYS, plain: plain.mean / GATHER_KEYS },
    secureWithCellCycleUs: summary(cycleSamples),
    sink,
  };
}

// Warm the JIT so the first figures are not compile time.
poolFigures(false);

const arena = new SecureArena({ slotSize: 32, slotCount: SLOTS_PER_CELL });
const results = {
  date: new Date().toISOString(),
  host: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown', kernel: os.release(), node: process.version },
  arenaPerCell: {
    dataBytes: arena.byteLength,
    lockedBytes: lockedBytesFor(1, arena.byteLength, PAGE),
    // libsodium: guard page before, canary page, data pages, guard page after.
    virtualBytes: lockedBytesFor(1, arena.byteLength, PAGE) + 3 * PAGE,
    locked: arena.locked,
  },
  accessUs: { unprotected: accessFigures(false), protectIdle: accessFigures(true) },
  pool: { unprotected: poolFigures(false), protectIdle: poolFigures(true) },
  gather: gatherFigures(),
};

if (process.argv.includes('--json')) {
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
} else {
  const f = (n: number) => n.toFixed(1).padStart(8);
  const lines = [
    `vault bench ${results.date} on ${results.host.cpus}× ${results.host.model}, Linux ${results.host.kernel}, Node ${results.host.node}`,
    `arena per cell: ${results.arenaPerCell.dataBytes} B data, ${results.arenaPerCell.lockedBytes} B locked, ${results.arenaPerCell.virtualBytes} B virtual, mlock ${results.arenaPerCell.locked ? 'ok' : 'FAILED'}`,
    '                               p50 µs   p99 µs',
    `arena access, unprotected   ${f(results.accessUs.unprotected.p50)} ${f(results.accessUs.unprotected.p99)}`,
    `arena access, protectIdle   ${f(results.accessUs.protectIdle.p50)} ${f(results.accessUs.protectIdle.p99)}`,
    `wipe per call, unprotected  ${f(results.pool.unprotected.wipeUs.p50)} ${f(results.pool.unprotected.wipeUs.p99)}   (target ≤ 100 µs)`,
    `wipe per call, protectIdle  ${f(results.pool.protectIdle.wipeUs.p50)} ${f(results.pool.protectIdle.wipeUs.p99)}`,
    `whole call, unprotected     ${f(results.pool.unprotected.callUs.p50)} ${f(results.pool.unprotected.callUs.p99)}`,
    `whole call, protectIdle     ${f(results.pool.protectIdle.callUs.p50)} ${f(results.pool.protectIdle.callUs.p99)}`,
    `16-key secure gather        ${f(results.gather.secureUs.p50)} ${f(results.gather.secureUs.p99)}   (keys+finish+luhn, ${results.gather.perKeyUs.secure.toFixed(3)} µs/key mean)`,
    `16-key plain string gather  ${f(results.gather.plainUs.p50)} ${f(results.gather.plainUs.p99)}   (keys+luhn, ${results.gather.perKeyUs.plain.toFixed(3)} µs/key mean)`,
    `secure gather + cell cycle  ${f(results.gather.secureWithCellCycleUs.p50)} ${f(results.gather.secureWithCellCycleUs.p99)}   (acquire+gather+luhn+release)`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
