import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DtmfReceiver } from '../../src/media/dtmf-receiver.ts';
import { ulawEncode } from '../../src/media/g711.ts';
import type { DtmfCode, KeyPushResult, KeySink } from '../../src/vault/types.ts';

const SSRC = 0x5eed;

function setup(options: { inband?: boolean } = {}) {
  const clock = { now: 1000 };
  const receiver = new DtmfReceiver({ now: () => clock.now, inband: options.inband });
  const keys: DtmfCode[] = [];
  const secure: KeyPushResult[] = [];
  receiver.onKey((code) => keys.push(code));
  receiver.onSecureKey((result) => secure.push(result));
  return { clock, receiver, keys, secure };
}

/** RFC 4733 payload bytes: event, E bit, volume 10, duration. */
function event(code: number, end: boolean, duration: number): Uint8Array {
  return Uint8Array.of(code, (end ? 0x80 : 0) | 10, duration >> 8, duration & 0xff);
}

/** A whole RFC 4733 press at `timestamp`, 20 ms per packet on the fake clock. */
function press(h: ReturnType<typeof setup>, code: number, timestamp: number) {
  for (const duration of [160, 320, 480]) {
    h.receiver.telephoneEvent(event(code, false, duration), timestamp, SSRC);
    h.clock.now += 20;
  }
  for (let i = 0; i < 3; i++) h.receiver.telephoneEvent(event(code, true, 640), timestamp, SSRC);
}

const relay = (key: string) => Buffer.from(`Signal=${key}\r\nDuration=160\r\n`, 'latin1');

test('plain mode: each RFC 4733 press reaches onKey once', () => {
  const h = setup();
  press(h, 4, 8000);
  press(h, 11, 16000);
  assert.deepEqual(h.keys, [4, 11]);
  assert.deepEqual(h.secure, []);
});

test('INFO and RFC 4733 for the same press count once, whichever comes first; the INFO body is zeroed', () => {
  const h = setup();
  press(h, 5, 8000);
  h.clock.now += 150;
  const body = relay('5');
  assert.equal(h.receiver.info('application/dtmf-relay', body), 'duplicate');
  assert.ok(body.every((b) => b === 0));
  h.clock.now += 1000;
  assert.equal(h.receiver.info('application/dtmf', Buffer.from('7')), 'key');
  h.clock.now += 200;
  press(h, 7, 24000);
  assert.deepEqual(h.keys, [5, 7]);
});

test('fast repeats by two paths at once stay two keys: each key absorbs one twin per other path', () => {
  const h = setup();
  press(h, 1, 8000); // t≈1000
  h.clock.now += 40;
  press(h, 1, 9600); // second press ~100 ms later
  h.clock.now += 100;
  assert.equal(h.receiver.info('application/dtmf-relay', relay('1')), 'duplicate'); // twin of the first
  assert.equal(h.receiver.info('application/dtmf-relay', relay('1')), 'duplicate'); // twin of the second
  assert.equal(h.receiver.info('application/dtmf-relay', relay('1')), 'key'); // a third press, INFO only
  assert.deepEqual(h.keys, [1, 1, 1]);
});

test('different keys on two paths, or the same key outside the window, are all reported', () => {
  const h = setup();
  press(h, 2, 8000);
  assert.equal(h.receiver.info('application/dtmf-relay', relay('3')), 'key');
  h.clock.now += 600;
  assert.equal(h.receiver.info('application/dtmf-relay', relay('2')), 'key');
  assert.deepEqual(h.keys, [2, 3, 2]);
});

test('unsupported and malformed INFO bodies are refused, zeroed, and give no key', () => {
  const h = setup();
  const xml = Buffer.from('<digit>5</digit>');
  assert.equal(h.receiver.info('application/xml', xml), 'unsupported');
  assert.ok(xml.every((b) => b === 0));
  const bad = relay('Z');
  assert.equal(h.receiver.info('application/dtmf-relay', bad), 'malformed');
  assert.ok(bad.every((b) => b === 0));
  assert.deepEqual(h.keys, []);
});

// 20 ms frames of µ-law: `toneMs` of key 6 (770 + 1477 Hz, -10 dBm0 each), then silence.
function toneFrames(toneMs: number, totalMs: number): Uint8Array[] {
  const samples = (totalMs * 8000) / 1000;
  const tone = (toneMs * 8000) / 1000;
  const amplitude = 22300 * 10 ** (-10 / 20);
  const bytes = new Uint8Array(samples);
  for (let i = 0; i < samples; i++) {
    const x = i < tone ? amplitude * (Math.sin((2 * Math.PI * 770 * i) / 8000) + Math.sin((2 * Math.PI * 1477 * i) / 8000)) : 0;
    bytes[i] = ulawEncode(Math.round(x));
  }
  return Array.from({ length: samples / 160 }, (_, i) => bytes.slice(i * 160, (i + 1) * 160));
}

test('in-band alone is detected; audio is not scanned when in-band is off', () => {
  const on = setup({ inband: true });
  for (const frame of toneFrames(100, 300)) on.receiver.audio(frame, 'PCMU');
  assert.deepEqual(on.keys, [6]);
  const off = setup();
  for (const frame of toneFrames(100, 300)) off.receiver.audio(frame, 'PCMU');
  assert.deepEqual(off.keys, []);
  off.receiver.setInband(true);
  for (const frame of toneFrames(100, 300)) off.receiver.audio(frame, 'PCMU');
  assert.deepEqual(off.keys, [6]);
});

test('tone and RFC 4733 for one press count once; after RFC 4733 is seen, in-band is ignored', () => {
  const h = setup({ inband: true });
  // The carrier sends the event and leaves the tone in the audio: RFC 4733 arrives with the tone's start.
  const frames = toneFrames(100, 300);
  frames.forEach((frame, i) => {
    if (i < 5) h.receiver.telephoneEvent(event(6, i === 4, 160 * (i + 1)), 8000, SSRC);
    h.receiver.audio(frame, 'PCMU');
    h.clock.now += 20;
  });
  assert.deepEqual(h.keys, [6]);
  h.clock.now += 5000;
  for (const frame of toneFrames(100, 300)) h.receiver.audio(frame, 'PCMU'); // tone only: ignored now
  assert.deepEqual(h.keys, [6]);
});

test('in-band first, RFC 4733 late (its start packets lost): still once', () => {
  const h = setup({ inband: true });
  for (const frame of toneFrames(100, 200)) {
    h.receiver.audio(frame, 'PCMU');
    h.clock.now += 20;
  }
  assert.deepEqual(h.keys, [6]);
  for (let i = 0; i < 3; i++) h.receiver.telephoneEvent(event(6, true, 800), 8000, SSRC);
  assert.deepEqual(h.keys, [6]);
});

class RecordingSink implements KeySink {
  readonly codes: DtmfCode[] = [];
  constructor(private readonly answers: KeyPushResult[]) {}
  pushKey(code: DtmfCode): KeyPushResult {
    this.codes.push(code);
    return this.answers[this.codes.length - 1] ?? 'stored';
  }
}

test('secure mode: keys go only to the sink, listeners learn only the result, payloads are zeroed', () => {
  const h = setup({ inband: true });
  const sink = new RecordingSink(['stored', 'stored', 'terminator']);
  h.receiver.routeTo(sink);
  const packet = event(9, false, 160);
  h.receiver.telephoneEvent(packet, 8000, SSRC);
  assert.deepEqual([...packet], [0, 0, 0, 0]);
  for (let i = 0; i < 3; i++) h.receiver.telephoneEvent(event(9, true, 640), 8000, SSRC);
  const body = relay('4');
  h.clock.now += 1000;
  h.receiver.info('application/dtmf-relay', body);
  assert.ok(body.every((b) => b === 0));
  h.clock.now += 1000;
  press(h, 11, 24000);
  assert.deepEqual(sink.codes, [9, 4, 11]);
  assert.deepEqual(h.secure, ['stored', 'stored', 'terminator']);
  assert.deepEqual(h.keys, []);
  const frame = Uint8Array.from(toneFrames(60, 60)[0]!);
  h.receiver.audio(frame, 'PCMU');
  assert.ok(frame.every((b) => b === 0), 'audio payload zeroed in secure mode');
});

test('leaving secure mode: late end packets of the last secure key do not leak to the plain listener', () => {
  const h = setup();
  const sink = new RecordingSink([]);
  h.receiver.routeTo(sink);
  h.receiver.telephoneEvent(event(11, false, 160), 8000, SSRC); // '#' ends the secure gather
  h.receiver.routeTo(null);
  h.receiver.telephoneEvent(event(11, true, 640), 8000, SSRC); // its end packets arrive afterwards
  h.receiver.telephoneEvent(event(11, true, 640), 8000, SSRC);
  h.clock.now += 100;
  assert.equal(h.receiver.info('application/dtmf-relay', relay('#')), 'duplicate'); // its INFO twin too
  assert.deepEqual(sink.codes, [11]);
  assert.deepEqual(h.keys, []);
  const plain = event(3, false, 160);
  h.receiver.telephoneEvent(plain, 9600, SSRC);
  assert.deepEqual(h.keys, [3]);
  assert.deepEqual([...plain], [3, 10, 0, 160], 'plain mode leaves payloads alone');
});

test('secure path builds no strings of keys', () => {
  const h = setup();
  const sink = new RecordingSink([]);
  h.receiver.routeTo(sink);
  const saved = { fromCharCode: String.fromCharCode, toString: Buffer.prototype.toString, exec: RegExp.prototype.exec };
  try {
    String.fromCharCode = () => assert.fail('String.fromCharCode on the key path');
    Buffer.prototype.toString = () => assert.fail('Buffer#toString on the key path');
    RegExp.prototype.exec = () => assert.fail('RegExp on the key path');
    press(h, 7, 8000);
    h.receiver.info('application/dtmf-relay', relay('8'));
    h.receiver.info('application/dtmf', Uint8Array.of(0x39));
  } finally {
    String.fromCharCode = saved.fromCharCode;
    Buffer.prototype.toString = saved.toString;
    RegExp.prototype.exec = saved.exec;
  }
  assert.deepEqual(sink.codes, [7, 8, 9]);
});

test('close is safe twice, zeroes state and ignores further input (INFO bodies still zeroed)', () => {
  const h = setup({ inband: true });
  press(h, 1, 8000);
  h.receiver.close();
  h.receiver.close();
  assert.equal(h.receiver.telephoneEvent(event(2, true, 640), 16000, SSRC), 'closed');
  const body = relay('3');
  assert.equal(h.receiver.info('application/dtmf-relay', body), 'closed');
  assert.ok(body.every((b) => b === 0));
  for (const frame of toneFrames(100, 300)) h.receiver.audio(frame, 'PCMU');
  h.receiver.routeTo(new RecordingSink([]));
  assert.deepEqual(h.keys, [1]);
});
