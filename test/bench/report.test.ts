import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parkingTargetsOf, targetsOf, type ParkingSection, type Results } from '../../bench/lib/report.ts';

function step(calls: number, paid: number, cpuPercentPerCall: number) {
  return {
    calls, paid, void: false, failedCalls: 0, rejected503: 0, cpuPercentPerCall, rssKiBPerCall: 10,
    rtp: { lossPercent: 0, skippedPercent: 0, latenessMs: { p99: 3 } },
    lookupResponse: { p99: 20 }, inviteTo200Ms: { p99: 4 }, wipeMs: { p99: null },
  };
}

const cpuRow = (section: unknown) => parkingTargetsOf(section as ParkingSection).find((row) => row.target.startsWith('CPU'))!;

test('parking targets are judged where calls went through, not on a step whose callers never ran', () => {
  assert.deepEqual(
    { ...cpuRow({ steps: [step(50, 0, 0.016)] }) },
    { target: 'CPU ≤ 0.10% of a core per call (IVR)', measured: 'not measured', met: null, by: '—' },
  );
  const judged = cpuRow({ steps: [step(50, 50, 0.2), step(100, 0, 0.01)] });
  assert.equal(judged.met, false);
  assert.match(judged.measured, /at 50 calls/);
});

test('per-call targets are judged at the largest step that held the service level, not at the one that broke it', () => {
  const ours = (calls: number, skippedPercent: number, cpuPercentPerCall: number, rssKiBPerCall: number) => ({
    target: 'traceless', calls, void: false, failedCalls: 0, rejected503: 0, cpuPercentPerCall, rssKiBPerCall,
    rtp: { lossPercent: 0, skippedPercent, latenessMs: { p99: 4 } }, keyResponse: { latencyMs: { p99: 20 } }, wipeMs: { p99: 0.05 },
  });
  const rows = targetsOf({ steps: [ours(600, 0, 0.12, 80), ours(800, 29.7, 0.096, -1.6)], rates: [] } as unknown as Results);
  const cpu = rows.find((row) => row.target.startsWith('CPU'))!;
  assert.equal(cpu.met, false);
  assert.match(cpu.measured, /^0\.120 % at 600 calls$/);
  assert.match(rows.find((row) => row.target.startsWith('RSS'))!.measured, /at 600 calls/);
  const broken = targetsOf({ steps: [ours(800, 29.7, 0.096, -1.6)], rates: [] } as unknown as Results);
  assert.equal(broken.find((row) => row.target.startsWith('RSS'))!.by, 'not judged'); // negative: memory given back
});

test('parking targets too are judged at the largest step that held the service level', () => {
  const broken = { ...step(400, 399, 0.176), rtp: { lossPercent: 0, skippedPercent: 20, latenessMs: { p99: 62 } } };
  const judged = cpuRow({ steps: [step(200, 200, 0.177), broken] });
  assert.match(judged.measured, /at 200 calls/);
});
