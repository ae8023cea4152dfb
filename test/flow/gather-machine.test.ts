import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  initialGatherState,
  transition,
  type GatherAction,
  type GatherEvent,
  type GatherSpec,
  type GatherState,
} from '../../src/flow/gather-machine.ts';

const spec: GatherSpec = {
  min: 3,
  max: 5,
  firstDigitTimeoutMs: 5000,
  interDigitTimeoutMs: 3000,
  totalTimeoutMs: 20000,
  retries: 1,
  bargeIn: true,
};

/** Feeds events in order and returns the final state and every action, flattened. */
function run(events: GatherEvent[], options: Partial<GatherSpec> = {}): { state: GatherState; actions: GatherAction[] } {
  const full = { ...spec, ...options };
  let state = initialGatherState();
  const actions: GatherAction[] = [];
  for (const event of events) {
    const step = transition(state, event, full);
    state = step.state;
    actions.push(...step.actions);
  }
  return { state, actions };
}

const start: GatherEvent = { type: 'start' };
const ended: GatherEvent = { type: 'promptEnded' };
const digit: GatherEvent = { type: 'key', key: 'digit' };
const term: GatherEvent = { type: 'key', key: 'terminator' };
const timeout = (timer: 'firstDigit' | 'interDigit' | 'total'): GatherEvent => ({ type: 'timeout', timer });
const finishOf = (actions: GatherAction[]) => actions.find((a) => a.type === 'finish');
const plays = (actions: GatherAction[]) => actions.filter((a) => a.type === 'play').map((a) => (a.type === 'play' ? a.parts : []));

test('start plays the prompt; its end arms the first-digit and total timers', () => {
  const { state, actions } = run([start, ended]);
  assert.equal(state.phase, 'collecting');
  assert.deepEqual(actions, [
    { type: 'play', parts: ['prompt'] },
    { type: 'startTimer', timer: 'total', ms: 20000 },
    { type: 'startTimer', timer: 'firstDigit', ms: 5000 },
  ]);
});

test('silence after the prompt is noInput: retry with the timeout prompt, then fail', () => {
  const once = run([start, ended, timeout('firstDigit')]);
  assert.deepEqual(plays(once.actions).at(-1), ['timeout', 'prompt']);
  assert.equal(once.state.attempt, 1);
  const twice = run([start, ended, timeout('firstDigit'), ended, timeout('firstDigit')]);
  assert.deepEqual(finishOf(twice.actions), { type: 'finish', end: { ok: false, reason: 'noInput' } });
});

test('partial entry then silence below min is invalid; at or above min it completes', () => {
  const short = run([start, ended, digit, digit, timeout('interDigit')]);
  assert.deepEqual(plays(short.actions).at(-1), ['invalid', 'prompt']);
  assert.equal(short.state.count, 0);
  const enough = run([start, ended, digit, digit, digit, timeout('interDigit'), { type: 'validated', ok: true }]);
  assert.deepEqual(finishOf(enough.actions), { type: 'finish', end: { ok: true, reason: 'interDigitTimeout' } });
});

test('each digit cancels the first-digit timer and restarts the inter-digit timer', () => {
  const { actions } = run([start, ended, digit, digit]);
  assert.deepEqual(actions.slice(3), [
    { type: 'acceptKey' },
    { type: 'cancelTimer', timer: 'firstDigit' },
    { type: 'startTimer', timer: 'interDigit', ms: 3000 },
    { type: 'acceptKey' },
    { type: 'cancelTimer', timer: 'interDigit' },
    { type: 'startTimer', timer: 'interDigit', ms: 3000 },
  ]);
});

test('terminator before min is invalid; after min it completes', () => {
  const early = run([start, ended, digit, digit, term]);
  assert.equal(finishOf(early.actions), undefined);
  assert.deepEqual(plays(early.actions).at(-1), ['invalid', 'prompt']);
  const ok = run([start, ended, digit, digit, digit, term]);
  assert.equal(ok.state.phase, 'validating');
  assert.equal(ok.state.pending, 'terminator');
  assert.deepEqual(ok.state.running, []);
});

test('reaching max completes without a terminator and stops every timer', () => {
  const { state, actions } = run([start, ended, digit, digit, digit, digit, digit]);
  assert.equal(state.phase, 'validating');
  assert.equal(state.pending, 'max');
  assert.deepEqual(state.running, []);
  assert.deepEqual(actions.at(-1), { type: 'validate' });
});

test('total timeout mid-entry: invalid below min, complete at min, noInput with nothing', () => {
  const below = run([start, ended, digit, timeout('total')]);
  assert.deepEqual(plays(below.actions).at(-1), ['invalid', 'prompt']);
  const atMin = run([start, ended, digit, digit, digit, timeout('total')]);
  assert.equal(atMin.state.pending, 'totalTimeout');
  const none = run([start, ended, timeout('total')], { retries: 0 });
  assert.deepEqual(finishOf(none.actions), { type: 'finish', end: { ok: false, reason: 'noInput' } });
});

test('a key during the prompt with barge-in stops the prompt and counts as the first digit', () => {
  const { state, actions } = run([start, digit]);
  assert.equal(state.phase, 'collecting');
  assert.equal(state.count, 1);
  assert.deepEqual(actions.slice(1, 3), [{ type: 'stopPrompt' }, { type: 'startTimer', timer: 'total', ms: 20000 }]);
  assert.ok(!state.running.includes('firstDigit'));
  // The prompt's late 'stopped' end changes nothing.
  const after = transition(state, ended, spec);
  assert.deepEqual(after.actions, []);
});

test('a key during the prompt without barge-in is discarded and the prompt keeps playing', () => {
  const { state, actions } = run([start, digit], { bargeIn: false });
  assert.equal(state.phase, 'prompting');
  assert.equal(state.count, 0);
  assert.deepEqual(actions.slice(1), [{ type: 'discardEntry' }]);
});

test('a stale timer (already cancelled) is ignored', () => {
  const { state } = run([start, ended, digit]);
  const step = transition(state, timeout('firstDigit'), spec);
  assert.deepEqual(step.actions, []);
  assert.equal(step.state.count, 1);
});

test('a failed validation counts as an invalid attempt', () => {
  const { state, actions } = run([start, ended, digit, digit, digit, term, { type: 'validated', ok: false }]);
  assert.equal(state.attempt, 1);
  assert.deepEqual(plays(actions).at(-1), ['invalid', 'prompt']);
  const last = run([start, ended, digit, digit, digit, term, { type: 'validated', ok: false }], { retries: 0 });
  assert.deepEqual(finishOf(last.actions), { type: 'finish', end: { ok: false, reason: 'invalid' } });
});

test('repeat restarts the attempt without using a retry; agent ends the gather', () => {
  const repeat = run([start, ended, digit, { type: 'key', key: 'repeat' }]);
  assert.equal(repeat.state.attempt, 0);
  assert.equal(repeat.state.count, 0);
  assert.equal(repeat.state.phase, 'prompting');
  assert.deepEqual(repeat.state.running, []);
  const agent = run([start, { type: 'key', key: 'agent' }], { bargeIn: false });
  assert.deepEqual(agent.actions.slice(1), [
    { type: 'stopPrompt' },
    { type: 'discardEntry' },
    { type: 'finish', end: { ok: false, reason: 'agent' } },
  ]);
});

test('a secure sink reporting full or rejected completes or fails the attempt', () => {
  const full = run([start, ended, digit, digit, { type: 'key', key: 'full' }]);
  assert.equal(full.state.pending, 'max');
  assert.equal(full.state.count, 3);
  const rejected = run([start, ended, digit, { type: 'key', key: 'rejected' }]);
  assert.deepEqual(plays(rejected.actions).at(-1), ['invalid', 'prompt']);
});

test('min 0 with a terminator accepts an empty entry', () => {
  const { state } = run([start, ended, term], { min: 0 });
  assert.equal(state.phase, 'validating');
});

test('keys after completion change nothing', () => {
  const { state } = run([start, ended, digit, digit, digit, digit, digit]);
  assert.deepEqual(transition(state, digit, spec).actions, []);
});
