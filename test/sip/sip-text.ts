// Test helper: SIP message bytes from lines, joined with CRLF (the wire line end, §7).
export function sipBytes(lines: readonly string[], body = ''): Buffer {
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`, 'utf8');
}

export const INVITE_LINES: readonly string[] = [
  'INVITE sip:+15551234567@ivr.example.com SIP/2.0',
  'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport',
  'Max-Forwards: 70',
  'To: <sip:+15551234567@ivr.example.com>',
  'From: "Alice" <sip:alice@example.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.example.com',
  'CSeq: 314159 INVITE',
  'Contact: <sip:alice@192.0.2.10:5060>',
  'Content-Type: application/sdp',
];

export const SDP_BODY = 'v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 101\r\n';

export function inviteBytes(extraLines: readonly string[] = [], body = SDP_BODY): Buffer {
  return sipBytes([...INVITE_LINES, ...extraLines, `Content-Length: ${Buffer.byteLength(body)}`], body);
}
