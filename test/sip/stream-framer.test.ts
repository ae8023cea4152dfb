import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamFramer } from '../../src/sip/stream-framer.ts';
import { parseMessage } from '../../src/sip/parser.ts';
import { INVITE_LINES, inviteBytes, sipBytes } from './sip-text.ts';

test('frames back-to-back messages by Content-Length, whatever the chunking', () => {
  const first = inviteBytes();
  const second = inviteBytes([], 'x');
  const stream = Buffer.concat([first, second]);
  for (const size of [1, 2, 3, 7, 64, stream.length]) {
    const framer = new StreamFramer();
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i += size) {
      const result = framer.push(stream.subarray(i, i + size));
      assert.equal(result.error, undefined);
      out.push(...result.messages);
    }
    assert.deepEqual(out, [first, second], `chunk size ${size}`);
    assert.equal(framer.bufferedBytes, 0);
  }
});

test('keep-alive: CRLFCRLF pings are counted, lone CRLF pongs skipped (RFC 5626 §3.5.1)', () => {
  const framer = new StreamFramer();
  const message = inviteBytes();
  let result = framer.push(Buffer.from('\r\n\r\n\r\n'));
  assert.equal(result.pings, 1);
  result = framer.push(Buffer.from('\r'));
  assert.equal(result.pings, 0);
  result = framer.push(Buffer.concat([Buffer.from('\n'), message, Buffer.from('\r\n\r\n')]));
  // The CRLF held back from the first push and this one's CRLF form a ping; the trailing CRLFCRLF another.
  assert.equal(result.pings, 2);
  assert.deepEqual(result.messages, [message]);
  assert.equal(framer.push(Buffer.from('\r\n')).pings, 0);
  assert.equal(framer.push(inviteBytes()).messages.length, 1); // the pong before it was skipped
});

test('missing or bad Content-Length is fatal and hands back the header section for a 400', () => {
  const missing = new StreamFramer().push(sipBytes(INVITE_LINES, 'body'));
  assert.equal(missing.error?.code, 'MISSING_CONTENT_LENGTH');
  const header = missing.error?.headerSection;
  assert.ok(header);
  assert.equal(header.toString('latin1'), `${INVITE_LINES.join('\r\n')}\r\n\r\n`);
  // Parsed as stream framing it is a 400, never a request with an empty body.
  const parsed = parseMessage(header, undefined, 'stream');
  assert.ok(!parsed.ok);
  assert.equal(parsed.error.code, 'BAD_CONTENT_LENGTH');
  assert.equal(parsed.error.reason, 'Missing Content-Length');
  assert.equal(parsed.error.canRespond, true);
  assert.equal(parsed.error.partial?.method, 'INVITE');

  for (const value of ['-999', 'abc', '']) {
    const framer = new StreamFramer();
    const result = framer.push(sipBytes([...INVITE_LINES, `Content-Length: ${value}`]));
    assert.equal(result.error?.code, 'BAD_CONTENT_LENGTH', value);
    assert.equal(result.messages.length, 0);
    // Once framing is lost, every later push reports the same error and yields nothing.
    const later = framer.push(inviteBytes());
    assert.equal(later.error?.code, 'BAD_CONTENT_LENGTH');
    assert.equal(later.messages.length, 0);
  }
  const twice = new StreamFramer().push(sipBytes([...INVITE_LINES, 'Content-Length: 0', 'l: 0']));
  assert.equal(twice.error?.code, 'BAD_CONTENT_LENGTH');
  const folded = new StreamFramer().push(sipBytes([...INVITE_LINES, 'Content-Length:', ' 3'], 'abc'));
  assert.equal(folded.error, undefined);
  assert.equal(folded.messages[0]?.subarray(-3).toString(), 'abc');
});

test('buffered bytes are capped: an endless header section or an oversize Content-Length is fatal', () => {
  const framer = new StreamFramer({ maxMessageBytes: 1024 });
  let result = framer.push(Buffer.from(`${INVITE_LINES.join('\r\n')}\r\n`));
  assert.equal(result.error, undefined);
  for (let i = 0; i < 100 && result.error === undefined; i++) result = framer.push(Buffer.from('X-Pad: 0123456789\r\n'));
  assert.equal(result.error?.code, 'MESSAGE_TOO_LARGE');
  assert.ok(framer.bufferedBytes <= 1024);

  const big = new StreamFramer({ maxMessageBytes: 1024 }).push(sipBytes([...INVITE_LINES, 'Content-Length: 2000']));
  assert.equal(big.error?.code, 'MESSAGE_TOO_LARGE');
  assert.ok(big.error?.headerSection);

  // A message exactly at the limit still passes.
  const exact = inviteBytes([], '');
  const atLimit = new StreamFramer({ maxMessageBytes: exact.length }).push(exact);
  assert.deepEqual(atLimit.messages, [exact]);
});

test('a body shorter than Content-Length waits for more data (RFC 4475 §3.1.2.2 on TCP)', () => {
  const framer = new StreamFramer();
  const result = framer.push(sipBytes([...INVITE_LINES, 'Content-Length: 10'], 'abc'));
  assert.equal(result.messages.length, 0);
  assert.equal(result.error, undefined);
  assert.equal(framer.push(Buffer.from('defghij')).messages[0]?.subarray(-10).toString(), 'abcdefghij');
});

test('close() zeroes what was buffered and is safe twice', () => {
  const framer = new StreamFramer();
  framer.push(sipBytes([...INVITE_LINES, 'Content-Length: 10'], 'SECRET'));
  assert.ok(framer.bufferedBytes > 0);
  framer.close();
  framer.close();
  assert.equal(framer.bufferedBytes, 0);
});
