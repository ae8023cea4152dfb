// Digest authentication for peers outside the trusted list (RFC 3261 §22.4 over RFC 2617,
// SHA-256 per RFC 8760 / RFC 7616). Nonces are stateless: expiry time + HMAC under a
// per-process key, so a challenge costs no memory and nothing about the request is kept.
// What is kept, once credentials verify, is the highest nonce count used with each nonce
// (RFC 7616 §3.4.5): captured credentials replayed within the nonce's life are refused.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { HeaderField } from './message.ts';
import { splitTopLevel, unquote } from './syntax.ts';

export type DigestAlgorithm = 'SHA-256' | 'MD5';

const HASH: Record<DigestAlgorithm, string> = { 'SHA-256': 'sha256', MD5: 'md5' };

export interface DigestInput {
  readonly algorithm: DigestAlgorithm;
  readonly username: string;
  readonly realm: string;
  readonly password: Buffer;
  readonly method: string;
  readonly uri: string;
  readonly nonce: string;
  /** With qop=auth (RFC 2617 §3.2.2.1); absent for the RFC 2069 form. */
  readonly qop?: { readonly nc: string; readonly cnonce: string };
}

function hashHex(algorithm: DigestAlgorithm, ...parts: Array<string | Buffer>): string {
  const hash = createHash(HASH[algorithm]);
  parts.forEach((part, index) => {
    if (index > 0) hash.update(':');
    hash.update(part);
  });
  return hash.digest('hex');
}

/** request-digest of RFC 2617 §3.2.2.1 (and RFC 7616 §3.4.1 for SHA-256). */
export function digestResponse(input: DigestInput): string {
  const { algorithm } = input;
  const ha1 = hashHex(algorithm, input.username, input.realm, input.password);
  const ha2 = hashHex(algorithm, input.method, input.uri);
  return input.qop === undefined
    ? hashHex(algorithm, ha1, input.nonce, ha2)
    : hashHex(algorithm, ha1, input.nonce, input.qop.nc, input.qop.cnonce, 'auth', ha2);
}

/** auth-params of a Digest credentials value (RFC 2617 §3.2.2), names lower-cased; undefined if not Digest. */
export function parseDigestCredentials(value: string): Map<string, string> | undefined {
  const trimmed = value.trim();
  if (!/^digest\s/i.test(trimmed)) return undefined;
  const params = new Map<string, string>();
  for (const element of splitTopLevel(trimmed.slice(6), 0x2c)) {
    const equals = element.indexOf('=');
    if (equals <= 0) return undefined;
    const name = element.slice(0, equals).trim().toLowerCase();
    const raw = element.slice(equals + 1).trim();
    params.set(name, raw.startsWith('"') && raw.endsWith('"') && raw.length >= 2 ? unquote(raw) : raw);
  }
  return params;
}

export interface DigestOptions {
  readonly realm: string;
  /** The peer's password for a username, or undefined when unknown. */
  readonly credentials: (username: string) => Buffer | undefined;
  /** Offered in this order of preference (RFC 8760 §2.4: SHA-256 first). */
  readonly algorithms?: readonly DigestAlgorithm[];
  readonly nonceTtlSeconds?: number;
  /** Nonces whose use is remembered at once; beyond it the oldest are forgotten and made stale. */
  readonly maxTrackedNonces?: number;
  readonly now: () => number;
}

export type DigestVerdict = 'ok' | 'missing' | 'stale' | 'invalid';

export class DigestAuthenticator {
  private readonly key = randomBytes(32);
  private readonly algorithms: readonly DigestAlgorithm[];
  private readonly ttlMs: number;
  /** Hashed when the username is unknown, so known and unknown users cost the same. */
  private readonly decoy = randomBytes(16);
  /** Highest nonce count accepted per nonce, in the order nonces were first used (oldest first). */
  private readonly used = new Map<string, { expires: number; nc: number }>();
  private readonly maxTracked: number;
  /** Nonces expiring at or before this were forgotten to bound memory: they are treated as stale. */
  private forgottenUntil = 0;

  constructor(private readonly options: DigestOptions) {
    this.algorithms = options.algorithms ?? ['SHA-256', 'MD5'];
    this.ttlMs = (options.nonceTtlSeconds ?? 300) * 1000;
    this.maxTracked = options.maxTrackedNonces ?? 50_000;
  }

  /** WWW-Authenticate fields for a 401, one per algorithm (RFC 8760 §2.4); stale=true after expiry. */
  challenge(stale = false): HeaderField[] {
    const nonce = this.nonce();
    return this.algorithms.map((algorithm) => ({
      name: 'WWW-Authenticate',
      value: `Digest realm="${this.options.realm}", nonce="${nonce}", algorithm=${algorithm}, qop="auth"${stale ? ', stale=true' : ''}`,
    }));
  }

  verify(authorization: string | undefined, method: string, requestUri: string): DigestVerdict {
    if (authorization === undefined) return 'missing';
    const params = parseDigestCredentials(authorization);
    if (params === undefined) return 'invalid';
    const algorithm = (params.get('algorithm') ?? 'MD5').toUpperCase() as DigestAlgorithm;
    const username = params.get('username');
    const nonce = params.get('nonce');
    const response = params.get('response');
    const uri = params.get('uri');
    const qop = params.get('qop');
    if (!this.algorithms.includes(algorithm) || username === undefined || nonce === undefined || response === undefined || uri === undefined) return 'invalid';
    // RFC 2617 §3.2.2.5 and RFC 3261 §22.4: the credentials must be for this realm and this request.
    if (params.get('realm') !== this.options.realm || uri !== requestUri) return 'invalid';
    if (qop !== undefined && qop !== 'auth') return 'invalid';
    const cnonce = params.get('cnonce');
    const nc = params.get('nc');
    if (qop === 'auth' && (cnonce === undefined || nc === undefined || !/^[0-9a-f]{8}$/i.test(nc))) return 'invalid';
    const nonceState = this.checkNonce(nonce);
    if (nonceState === 'invalid') return 'invalid';
    const password = this.options.credentials(username);
    const expected = digestResponse({
      algorithm,
      username,
      realm: this.options.realm,
      password: password ?? this.decoy,
      method,
      uri,
      nonce,
      ...(qop === 'auth' ? { qop: { nc: nc!, cnonce: cnonce! } } : {}),
    });
    const matches = response.length === expected.length && timingSafeEqual(Buffer.from(response.toLowerCase()), Buffer.from(expected));
    if (!matches || password === undefined) return 'invalid';
    if (nonceState === 'stale') return 'stale';
    // Without qop (RFC 2069 form) there is no count: such a nonce is good for one request.
    return this.recordUse(nonce, qop === 'auth' ? Number.parseInt(nc!, 16) : 1) ? 'ok' : 'stale';
  }

  /**
   * RFC 7616 §3.4.5: a count not above the last one seen with this nonce is a replay. The answer
   * to it is a fresh challenge (stale), which only the password's holder can meet.
   */
  private recordUse(nonce: string, nc: number): boolean {
    const now = this.options.now();
    for (const [key, entry] of this.used) {
      if (entry.expires >= now) break; // oldest first: the rest are younger
      this.used.delete(key);
    }
    const expires = Number(nonce.slice(0, nonce.indexOf('.')));
    if (expires <= this.forgottenUntil) return false;
    const entry = this.used.get(nonce);
    if (entry !== undefined) {
      if (nc <= entry.nc) return false;
      entry.nc = nc;
      return true;
    }
    if (this.used.size >= this.maxTracked) {
      const [oldest, oldestEntry] = this.used.entries().next().value!;
      this.used.delete(oldest);
      this.forgottenUntil = Math.max(this.forgottenUntil, oldestEntry.expires);
    }
    this.used.set(nonce, { expires, nc });
    return true;
  }

  private nonce(): string {
    const expires = String(this.options.now() + this.ttlMs);
    return `${expires}.${this.mac(expires)}`;
  }

  private mac(expires: string): string {
    return createHmac('sha256', this.key).update(`${expires}:${this.options.realm}`).digest('base64url');
  }

  private checkNonce(nonce: string): 'fresh' | 'stale' | 'invalid' {
    const dot = nonce.indexOf('.');
    if (dot <= 0) return 'invalid';
    const expires = nonce.slice(0, dot);
    const mac = Buffer.from(nonce.slice(dot + 1));
    const expected = Buffer.from(this.mac(expires));
    if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) return 'invalid';
    return Number(expires) < this.options.now() ? 'stale' : 'fresh';
  }
}
