import { test } from 'node:test';
import assert from 'node:assert/strict';
import { digestResponse, parseDigestCredentials, DigestAuthenticator } from '../../src/sip/digest-auth.ts';
import { PeerList, PeerListError } from '../../src/sip/peer-list.ts';
import { KeyedRateLimiter } from '../../src/sip/rate-limit.ts';
import { createAdmission } from '../../src/sip/admission.ts';
import { request, INVITE } from './helpers.ts';
import type { Source } from '../../src/sip/transport.ts';

test('digest: RFC 2617 §3.5 example (MD5, qop=auth)', () => {
  const header = 'Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"';
  const params = parseDigestCredentials(header)!;
  assert.equal(params.get('username'), 'Mufasa');
  assert.equal(params.get('qop'), 'auth');
  const response = digestResponse({
    algorithm: 'MD5',
    username: 'Mufasa',
    realm: 'testrealm@host.com',
    password: Buffer.from('Circle Of Life'),
    method: 'GET',
    uri: '/dir/index.html',
    nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
    qop: { nc: '00000001', cnonce: '0a4f113b' },
  });
  assert.equal(response, params.get('response'));
});

test('digest: RFC 7616 §3.9.1 example, the vectors RFC 8760 relies on (SHA-256 and MD5)', () => {
  const base = {
    username: 'Mufasa',
    realm: 'http-auth@example.org',
    password: Buffer.from('Circle of Life'),
    method: 'GET',
    uri: '/dir/index.html',
    nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
    qop: { nc: '00000001', cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ' },
  };
  assert.equal(digestResponse({ ...base, algorithm: 'MD5' }), '8ca523f5e9506fed4657c9700eebdbec');
  assert.equal(digestResponse({ ...base, algorithm: 'SHA-256' }), '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
});

function authorize(challenge: string, options: { password?: string; uri?: string; user?: string; nc?: string } = {}): string {
  const nonce = /nonce="([^"]+)"/.exec(challenge)![1]!;
  const algorithm = /algorithm=([\w-]+)/.exec(challenge)![1] as 'SHA-256' | 'MD5';
  const uri = options.uri ?? 'sip:5551000@192.0.2.1';
  const username = options.user ?? 'trunk';
  const response = digestResponse({
    algorithm,
    username,
    realm: 'traceless',
    password: Buffer.from(options.password ?? 'pw'),
    method: 'INVITE',
    uri,
    nonce,
    qop: { nc: options.nc ?? '00000001', cnonce: 'abc' },
  });
  return `Digest username="${username}", realm="traceless", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=${algorithm}, qop=auth, nc=${options.nc ?? '00000001'}, cnonce="abc"`;
}

test('digest authenticator: SHA-256 preferred, valid credentials pass, wrong ones, other URIs, forged and expired nonces do not', () => {
  let now = 1_000_000;
  const auth = new DigestAuthenticator({ realm: 'traceless', credentials: (user) => (user === 'trunk' ? Buffer.from('pw') : undefined), now: () => now, nonceTtlSeconds: 60 });
  const challenge = auth.challenge();
  assert.equal(challenge.length, 2);
  assert.match(challenge[0]!.value, /^Digest realm="traceless", nonce="[^"]+", algorithm=SHA-256, qop="auth"$/);
  assert.match(challenge[1]!.value, /algorithm=MD5/);
  const uri = 'sip:5551000@192.0.2.1';
  assert.equal(auth.verify(authorize(challenge[0]!.value), 'INVITE', uri), 'ok');
  assert.equal(auth.verify(authorize(challenge[1]!.value, { nc: '00000002' }), 'INVITE', uri), 'ok');
  assert.equal(auth.verify(authorize(challenge[0]!.value, { password: 'nope' }), 'INVITE', uri), 'invalid');
  assert.equal(auth.verify(authorize(challenge[0]!.value, { user: 'ghost' }), 'INVITE', uri), 'invalid');
  assert.equal(auth.verify(authorize(challenge[0]!.value, { uri: 'sip:other@192.0.2.1' }), 'INVITE', uri), 'invalid');
  const forged = challenge[0]!.value.replace(/nonce="(\d+)\./, (_m, t: string) => `nonce="${Number(t) + 1}.`);
  assert.equal(auth.verify(authorize(forged), 'INVITE', uri), 'invalid');
  assert.equal(auth.verify(undefined, 'INVITE', uri), 'missing');
  assert.equal(auth.verify('Basic dXNlcjpwdw==', 'INVITE', uri), 'invalid');
  now += 61_000;
  assert.equal(auth.verify(authorize(challenge[0]!.value, { nc: '00000003' }), 'INVITE', uri), 'stale');
  assert.match(auth.challenge(true)[0]!.value, /, stale=true$/);
});

test('digest authenticator: replayed credentials are refused as stale; counts must rise; memory stays bounded', () => {
  let now = 1_000_000;
  const auth = new DigestAuthenticator({ realm: 'traceless', credentials: () => Buffer.from('pw'), now: () => now, nonceTtlSeconds: 60, maxTrackedNonces: 2 });
  const uri = 'sip:5551000@192.0.2.1';
  const first = auth.challenge()[0]!.value;
  const credentials = authorize(first);
  assert.equal(auth.verify(credentials, 'INVITE', uri), 'ok');
  assert.equal(auth.verify(credentials, 'INVITE', uri), 'stale'); // the same request captured and sent again
  assert.equal(auth.verify(authorize(first, { nc: '00000002' }), 'INVITE', uri), 'ok');
  assert.equal(auth.verify(authorize(first, { nc: '00000002' }), 'INVITE', uri), 'stale');
  assert.equal(auth.verify(authorize(first, { nc: 'zz' }), 'INVITE', uri), 'invalid');
  // Two more nonces used: the first is forgotten and with it every nonce as old, so it goes stale.
  now += 1;
  assert.equal(auth.verify(authorize(auth.challenge()[0]!.value), 'INVITE', uri), 'ok');
  now += 1;
  const third = auth.challenge()[0]!.value;
  assert.equal(auth.verify(authorize(third), 'INVITE', uri), 'ok');
  assert.equal(auth.verify(authorize(first, { nc: '00000009' }), 'INVITE', uri), 'stale');
  assert.equal(auth.verify(authorize(third, { nc: '00000002' }), 'INVITE', uri), 'ok');
});

test('trusted peers: IPv4, CIDR, IPv6 CIDR, IPv4-mapped sources; bad entries are config errors', () => {
  const peers = new PeerList(['192.0.2.10', '198.51.100.0/24', '2001:db8::/32', '::1']);
  assert.ok(peers.has('192.0.2.10'));
  assert.ok(!peers.has('192.0.2.11'));
  assert.ok(peers.has('198.51.100.200'));
  assert.ok(peers.has('::ffff:198.51.100.7'));
  assert.ok(peers.has('2001:db8:1::5'));
  assert.ok(!peers.has('2001:db9::5'));
  assert.ok(peers.has('::1'));
  assert.ok(!peers.has('not-an-ip'));
  assert.throws(() => new PeerList(['10.0.0.0/33']), PeerListError);
  assert.throws(() => new PeerList(['example.com']), PeerListError);
});

test('rate limiter: burst, then refusals, then refill; tracked keys stay bounded', () => {
  let now = 0;
  const limiter = new KeyedRateLimiter({ perSecond: 2, burst: 3 }, () => now, 100);
  assert.deepEqual([1, 2, 3, 4].map(() => limiter.take('a')), [true, true, true, false]);
  assert.equal(limiter.take('b'), true);
  now += 500;
  assert.deepEqual([limiter.take('a'), limiter.take('a')], [true, false]);
  for (let i = 0; i < 1000; i++) limiter.take(`10.0.${i >> 8}.${i & 255}`);
  assert.ok(limiter.trackedKeys <= 100);
});

test('rate limiter: a refused source is forgotten once its bucket would be full again', () => {
  let now = 0;
  const limiter = new KeyedRateLimiter({ perSecond: 1, burst: 2 }, () => now);
  assert.deepEqual([limiter.take('203.0.113.5'), limiter.take('203.0.113.5'), limiter.take('203.0.113.5')], [true, true, false]);
  assert.equal(limiter.exhausted('203.0.113.5'), true);
  now += 1_999;
  assert.equal(limiter.trackedKeys, 1);
  now += 1; // two tokens back: the bucket is full and says nothing any more
  assert.equal(limiter.trackedKeys, 0);
  assert.equal(limiter.exhausted('203.0.113.5'), false);
});

test('rate limiter: no key is kept longer than burst/perSecond after its last request', () => {
  let now = 0;
  const limiter = new KeyedRateLimiter({ perSecond: 1, burst: 3 }, () => now);
  for (let i = 0; i < 3; i++) limiter.take('old'); // empty: full again at 3 s
  now = 500;
  limiter.take('young'); // full again at 1.5 s, but it sits behind 'old' in use order
  now = 1_600;
  limiter.take('other'); // full again at 2.6 s
  assert.equal(limiter.trackedKeys, 3);
  now = 2_999;
  assert.equal(limiter.trackedKeys, 3);
  now = 3_000; // 3 s after the last request of any key, every bucket is full
  assert.equal(limiter.trackedKeys, 0);
});

const source = (address: string): Source => ({ kind: 'udp', address, port: 5060 });

test('admission: max calls → 503 + Retry-After; per-IP INVITE rate → 503; counters only', () => {
  let active = 0;
  const { hook, counters } = createAdmission({ maxCalls: 2, activeCalls: () => active, retryAfterSeconds: 7, inviteRate: { perSecond: 1, burst: 2 }, now: () => 0 });
  const invite = request(INVITE);
  assert.deepEqual(hook(invite, source('192.0.2.10')), { ok: true });
  active = 2;
  assert.deepEqual(hook(invite, source('192.0.2.10')), { ok: false, status: 503, reason: 'Service Unavailable', retryAfter: 7 });
  active = 0;
  assert.deepEqual(hook(invite, source('192.0.2.10')), { ok: true });
  assert.equal(hook(invite, source('192.0.2.10')).ok, false);
  assert.deepEqual(hook(invite, source('192.0.2.99')), { ok: true });
  assert.deepEqual(counters, { full: 1, 'rate-limited': 1, untrusted: 0, challenged: 0, 'auth-failed': 0, 'auth-blocked': 0, admitted: 3 });
});

test('admission: untrusted peers get 403 without digest, a 401 challenge with it, and are blocked after failed attempts', () => {
  const invite = request(INVITE);
  const noDigest = createAdmission({ activeCalls: () => 0, trustedPeers: ['192.0.2.0/24'] });
  assert.deepEqual(noDigest.hook(invite, source('192.0.2.10')), { ok: true });
  assert.equal((noDigest.hook(invite, source('203.0.113.5')) as { status: number }).status, 403);

  const { hook, counters } = createAdmission({
    activeCalls: () => 0,
    trustedPeers: ['192.0.2.0/24'],
    digest: { realm: 'traceless', credentials: (user) => (user === 'trunk' ? Buffer.from('pw') : undefined), failedAttempts: { perSecond: 0.01, burst: 2 } },
    now: () => 5_000,
  });
  const first = hook(invite, source('203.0.113.5'));
  assert.equal(first.ok, false);
  const challenge = [...((first as { headers?: ReadonlyArray<{ name: string; value: string }> }).headers ?? [])];
  assert.equal((first as { status: number }).status, 401);
  assert.deepEqual(challenge.map((h) => h.name), ['WWW-Authenticate', 'WWW-Authenticate']);
  const withAuth = (authorization: string) => request(INVITE.replace('Contact:', `Authorization: ${authorization}\nContact:`));
  assert.deepEqual(hook(withAuth(authorize(challenge[0]!.value)), source('203.0.113.5')), { ok: true });
  // Two failures use up the attempts; the third is refused outright, even with good credentials.
  assert.equal((hook(withAuth(authorize(challenge[0]!.value, { password: 'x' })), source('203.0.113.5')) as { status: number }).status, 401);
  assert.equal((hook(withAuth(authorize(challenge[0]!.value, { password: 'y' })), source('203.0.113.5')) as { status: number }).status, 401);
  assert.equal((hook(withAuth(authorize(challenge[0]!.value)), source('203.0.113.5')) as { status: number }).status, 403);
  assert.equal(counters['auth-failed'], 2);
  assert.equal(counters['auth-blocked'], 1);
  assert.equal(counters.admitted, 1);
});
