import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parkingTargetsOf, type ParkingSection } from '../../bench/lib/report.ts';

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
