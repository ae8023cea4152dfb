import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHmac } from 'node:crypto';
import { AesCmKeystream, deriveSessionKey, estimateIndex, SrtpContext, SRTCP_OVERHEAD } from '../../src/media/srtp.ts';
import { writeRtpHeader } from '../../src/media/rtp-packet.ts';
import { hex } from './hex-fixture.ts';

// RFC 3711 Appendix B.3.
const MASTER_KEY = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
const MASTER_SALT = hex('0EC675AD498AFEEBB6960B3AABE6');
const MASTER = Buffer.concat([MASTER_KEY, MASTER_SALT]);

test('RFC 3711 B.2: AES-CM keystream, first and last blocks of the 65282-block segment', () => {
  const keystream = new AesCmKeystream(hex('2B7E151628AED2A6ABF7158809CF4F3C'));
  const data = new Uint8Array(65282 * 16); // zeros, so XOR leaves the keystream itself
  keystream.xor(hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000'), data);
  assert.deepEqual(
    Buffer.from(data.subarray(0, 48)),
    hex('E03EAD0935C95E80E166B16DD92B4EB4 D23513162B02D0F72A43A2FE4A5F97AB 41E95B3BB0A2E8DD477901E4FCA894C0'),
  );
  assert.deepEqual(
    Buffer.from(data.subarray(data.length - 48)),
    hex('EC8CDF7398607CB0F2D21675EA9EA1E4 362B7C3C6773516318A077D7FC5073AE 6A2CC3787889374FBEB4C81B17BA6C44'),
  );
});

test('RFC 3711 B.3: session encryption key, salt and the full 94-octet auth key', () => {
  const cipherKey = Buffer.alloc(16);
  deriveSessionKey(MASTER_KEY, MASTER_SALT, 0x00, cipherKey);
  assert.deepEqual(cipherKey, hex('C61E7A93744F39EE10734AFE3FF7A087'));
  const salt = Buffer.alloc(14);
  deriveSessionKey(MASTER_KEY, MASTER_SALT, 0x02, salt);
  assert.deepEqual(salt, hex('30CBBC08863D8C85D49DB34A9AE1'));
  const auth = Buffer.alloc(94);
  deriveSessionKey(MASTER_KEY, MASTER_SALT, 0x01, auth);
  assert.deepEqual(
    auth,
    hex(`CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCE
         E049646C43D9327AD175578EF72270986371C10C9A369AC2F94A8C5FBCDDDC25
         6D6E919A48B610EF17C2041E474035766B68642C59BBFC2F34DB60DBDFB2`),
  );
});

test('SRTCP session keys from the same master (labels 3-5; values as libsrtp-derived suites publish them)', () => {
  const out = Buffer.alloc(20);
  deriveSessionKey(MASTER_KEY, MASTER_SALT, 0x03, out.subarray(0, 16));
  assert.deepEqual(out.subarray(0, 16), hex('4C1AA45A81F73D61C800BBB00FBB1EAA'));
  deriveSessionKey(MASTER_KEY, MASTER_SALT, 0x04, out);
  assert.deepEqual(out, hex('8D54534FEB49AE8E7993A6BD0B844FC323A93DFD'));
  deriveSessionKey(MASTER_KEY, MASTER_SALT, 0x05, out.subarray(0, 14));
  assert.deepEqual(out.subarray(0, 14), hex('9581C7AD87B3E530BF3E4454A8B3'));
});

function rtpPacket(seq: number, ssrc: number, payload: Uint8Array, room = 10): Uint8Array {
  const buffer = new Uint8Array(12 + payload.length + room);
  writeRtpHeader(buffer, { marker: false, payloadType: 0, sequenceNumber: seq, timestamp: seq * 160, ssrc });
  buffer.set(payload, 12);
  return buffer;
}

test('protect matches an independent AES-128-CTR + HMAC-SHA1 computation of §4.1.1 and §4.2', () => {
  const payload = Buffer.alloc(160, 0x5a);
  const packet = rtpPacket(0x1234, 0xdeadbeef, payload);
  const sender = new SrtpContext('AES_CM_128_HMAC_SHA1_80', MASTER);
  const result = sender.protectRtp(packet, 172);
  assert.deepEqual(result, { ok: true, length: 182 });

  // IV = salt·2^16 XOR SSRC·2^64 XOR index·2^16, index = 0x1234 (ROC 0).
  const iv = Buffer.alloc(16);
  hex('30CBBC08863D8C85D49DB34A9AE1').copy(iv);
  iv.writeUInt32BE(iv.readUInt32BE(4) ^ 0xdeadbeef, 4);
  iv.writeUInt16BE(iv.readUInt16BE(12) ^ 0x1234, 12);
  const ctr = createCipheriv('aes-128-ctr', hex('C61E7A93744F39EE10734AFE3FF7A087'), iv);
  const expectedPayload = ctr.update(payload);
  assert.deepEqual(Buffer.from(packet.subarray(12, 172)), expectedPayload);
  const tag = createHmac('sha1', hex('CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4'))
    .update(packet.subarray(0, 172))
    .update(Buffer.alloc(4)) // ROC 0
    .digest()
    .subarray(0, 10);
  assert.deepEqual(Buffer.from(packet.subarray(172, 182)), tag);
  sender.close();
});

for (const suite of ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'] as const) {
  test(`${suite}: protect/unprotect round trip, tag length, tamper and replay rejected`, () => {
    const sender = new SrtpContext(suite, MASTER);
    const receiver = new SrtpContext(suite, MASTER);
    const tagBytes = suite.endsWith('80') ? 10 : 4;
    const payload = Buffer.from('0123456789abcdef0123');
    const packet = rtpPacket(7, 0x01020304, payload);
    const protectedResult = sender.protectRtp(packet, 32);
    assert.deepEqual(protectedResult, { ok: true, length: 32 + tagBytes });
    assert.notDeepEqual(Buffer.from(packet.subarray(12, 32)), payload);
    const wire = Buffer.from(packet.subarray(0, 32 + tagBytes));

    const tampered = Buffer.from(wire);
    tampered[20] = tampered[20]! ^ 1;
    assert.deepEqual(receiver.unprotectRtp(tampered), { ok: false, error: 'auth-failed' });

    const copy = Buffer.from(wire);
    assert.deepEqual(receiver.unprotectRtp(copy), { ok: true, length: 32 });
    assert.deepEqual(copy.subarray(12, 32), payload);

    assert.deepEqual(receiver.unprotectRtp(Buffer.from(wire)), { ok: false, error: 'replayed' });
    sender.close();
    receiver.close();
  });
}

test('a flood of forged packets from new SSRCs is rejected without taking SSRC slots', () => {
  const sender = new SrtpContext('AES_CM_128_HMAC_SHA1_80', MASTER);
  const receiver = new SrtpContext('AES_CM_128_HMAC_SHA1_80', MASTER);
  for (let i = 0; i < 100; i++) {
    const forged = rtpPacket(i, 0x5000 + i, Buffer.alloc(20, i));
    assert.deepEqual(receiver.unprotectRtp(forged, 42), { ok: false, error: 'auth-failed' });
  }
  const genuine = rtpPacket(1, 0xabc, Buffer.alloc(20, 1));
  sender.protectRtp(genuine, 32);
  assert.deepEqual(receiver.unprotectRtp(genuine, 42), { ok: true, length: 32 });
});

test('replay window: late packets inside 64 accepted once, older than the window rejected', () => {
  const sender = new SrtpContext('AES_CM_128_HMAC_SHA1_80', MASTER);
  const receiver = new SrtpContext('AES_CM_128_HMAC_SHA1_80', MASTER);
  const wires = new Map<number, Buffer>();
  for (let seq = 100; seq <= 300; seq++) {
    const packet = rtpPacket(seq, 1, Buffer.alloc(8, seq & 0xff));
    const result = sender.protectRtp(packet, 20);
    assert.ok(result.ok);
    wires.set(seq, Buffer.from(packet.subarray(0, result.length)));
  }
  assert.equal(receiver.unprotectRtp(Buffer.from(wires.get(100)!)).ok, true);
  assert.equal(receiver.unprotectRtp(Buffer.from(wires.get(300)!)).ok, true);
  assert.deepEqual(receiver.unprotectRtp(Buffer.from(wires.get(200)!)), { ok: false, error: 'replayed' }); // 100 behind
  assert.equal(receiver.unprotectRtp(Buffer.from(wires.get(250)!)).ok, true); // 50 behind, first time
  assert.deepEqual(receiver.unprotectRtp(Buffer.from(wires.get(250)!)), { ok: false, error: 'replayed' });
});

test('rollover: sequence wrap raises the ROC on both sides and packets keep authenticating', () => {
  const sender = new SrtpContext('AES_CM_128_HMAC_SHA1_32', MASTER);
  const receiver = new SrtpContext('AES_CM_128_HMAC_SHA1_32', MASTER);
  const seqs = [65533, 65534, 65535, 0, 1, 2];
  const wires = seqs.map((seq) => {
    const packet = rtpPacket(seq, 9, Buffer.alloc(8, 0x11));
    const result = sender.protectRtp(packet, 20);
    assert.ok(result.ok);
    return Buffer.from(packet.subarray(0, result.length));
  });
  // deliver 0 before 65535 (reordering across the wrap)
  const order = [0, 1, 3, 2, 4, 5];
  for (const i of order) {
    const wire = wires[i]!;
    const result = receiver.unprotectRtp(wire);
    assert.deepEqual(result, { ok: true, length: 20 }, `seq ${seqs[i]}`);
    assert.deepEqual(wire.subarray(12, 20), Buffer.alloc(8, 0x11));
  }
});

test('Appendix A index estimate', () => {
  assert.deepEqual(estimateIndex(0, 65535, 0), { index: 65536, roc: 1 });
  assert.deepEqual(estimateIndex(1, 2, 65535), { index: 65535, roc: 0 });
  assert.deepEqual(estimateIndex(3, 1000, 1001), { index: 3 * 65536 + 1001, roc: 3 });
  assert.deepEqual(estimateIndex(0, 10, 60000), { index: 60000, roc: 0 });
});

test('SRTCP: protect/unprotect round trip, E bit and index trailer, tamper and replay rejected', () => {
  const sender = new SrtpContext('AES_CM_128_HMAC_SHA1_32', MASTER);
  const receiver = new SrtpContext('AES_CM_128_HMAC_SHA1_32', MASTER);
  // Receiver report, no blocks: V=2 PT=201 length=1, SSRC, plus 8 bytes of SDES-ish filler to encrypt.
  const plain = hex('80c90003 0a0b0c0d 11223344 55667788');
  const buffer = Buffer.alloc(plain.length + SRTCP_OVERHEAD);
  plain.copy(buffer);
  const first = sender.protectRtcp(buffer, plain.length);
  assert.deepEqual(first, { ok: true, length: plain.length + 14 });
  assert.deepEqual(buffer.subarray(0, 8), plain.subarray(0, 8)); // header and SSRC stay clear
  assert.notDeepEqual(buffer.subarray(8, 16), plain.subarray(8, 16));
  assert.deepEqual(buffer.subarray(16, 20), hex('80000000')); // E=1, index 0

  const tampered = Buffer.from(buffer);
  tampered[9] = tampered[9]! ^ 0x40;
  assert.deepEqual(receiver.unprotectRtcp(tampered), { ok: false, error: 'auth-failed' });
  const copy = Buffer.from(buffer);
  assert.deepEqual(receiver.unprotectRtcp(copy), { ok: true, length: plain.length });
  assert.deepEqual(copy.subarray(0, plain.length), plain);
  assert.deepEqual(receiver.unprotectRtcp(Buffer.from(buffer)), { ok: false, error: 'replayed' });

  const second = Buffer.alloc(plain.length + SRTCP_OVERHEAD);
  plain.copy(second);
  sender.protectRtcp(second, plain.length);
  assert.deepEqual(second.subarray(16, 20), hex('80000001'));
});

test('close() zeroes the keys, is safe twice, and later use reports closed', () => {
  const context = new SrtpContext('AES_CM_128_HMAC_SHA1_80', MASTER);
  const memory = (context as unknown as { keyMemory: Buffer }).keyMemory;
  assert.ok(memory.some((byte) => byte !== 0));
  context.close();
  context.close();
  assert.ok(memory.every((byte) => byte === 0));
  assert.deepEqual(context.unprotectRtp(Buffer.alloc(40)), { ok: false, error: 'closed' });
});
