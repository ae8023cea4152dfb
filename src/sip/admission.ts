// Admission for new INVITEs: global call cap (503 + Retry-After), per-source-IP INVITE rate
// (token bucket), trusted peers by IP/CIDR, optional digest authentication for everyone else
// with a cap on failed attempts. Rejections only bump counters; nothing else is kept.
import type { SipRequest } from './message.ts';
import { firstHeader } from './headers.ts';
import type { AdmissionDecision, AdmissionHook } from './user-agent-server.ts';
import { KeyedRateLimiter } from './rate-limit.ts';
import type { RateLimit } from './rate-limit.ts';
import { PeerList, normaliseAddress } from './peer-list.ts';
import { DigestAuthenticator } from './digest-auth.ts';
import type { DigestAlgorithm } from './digest-auth.ts';
import type { Source } from './transport.ts';

export interface AdmissionConfig {
  /** Calls allowed at once; beyond it 503 with Retry-After. */
  readonly maxCalls?: number;
  readonly activeCalls: () => number;
  /** Seconds sent in Retry-After with 503 (default 5). */
  readonly retryAfterSeconds?: number;
  /** INVITEs per source IP. */
  readonly inviteRate?: RateLimit;
  /** IPs/CIDRs admitted without authentication. Absent: every source is trusted. */
  readonly trustedPeers?: readonly string[];
  /** Digest for sources outside trustedPeers; without it those sources get 403. */
  readonly digest?: {
    readonly realm: string;
    readonly credentials: (username: string) => Buffer | undefined;
    readonly algorithms?: readonly DigestAlgorithm[];
    readonly nonceTtlSeconds?: number;
    /** Failed authentication attempts per source IP (default 5 per minute, burst 5). */
    readonly failedAttempts?: RateLimit;
  };
  readonly now?: () => number;
}

export type AdmissionCounter = 'full' | 'rate-limited' | 'untrusted' | 'challenged' | 'auth-failed' | 'auth-blocked' | 'admitted';

export interface Admission {
  readonly hook: AdmissionHook;
  readonly counters: Readonly<Record<AdmissionCounter, number>>;
}

export function createAdmission(config: AdmissionConfig): Admission {
  const now = config.now ?? Date.now;
  const counters: Record<AdmissionCounter, number> = {
    full: 0,
    'rate-limited': 0,
    untrusted: 0,
    challenged: 0,
    'auth-failed': 0,
    'auth-blocked': 0,
    admitted: 0,
  };
  const retryAfter = config.retryAfterSeconds ?? 5;
  const inviteRate = config.inviteRate === undefined ? undefined : new KeyedRateLimiter(config.inviteRate, now);
  const trusted = config.trustedPeers === undefined ? undefined : new PeerList(config.trustedPeers);
  const digest = config.digest === undefined
    ? undefined
    : {
        authenticator: new DigestAuthenticator({ ...config.digest, now }),
        failures: new KeyedRateLimiter(config.digest.failedAttempts ?? { perSecond: 5 / 60, burst: 5 }, now),
      };

  const refuse = (counter: AdmissionCounter, decision: AdmissionDecision): AdmissionDecision => {
    counters[counter]++;
    return decision;
  };

  const hook = (invite: SipRequest, source: Source): AdmissionDecision => {
    const ip = normaliseAddress(source.address);
    if (config.maxCalls !== undefined && config.activeCalls() >= config.maxCalls) {
      return refuse('full', { ok: false, status: 503, reason: 'Service Unavailable', retryAfter });
    }
    if (inviteRate !== undefined && !inviteRate.take(ip)) {
      return refuse('rate-limited', { ok: false, status: 503, reason: 'Service Unavailable', retryAfter });
    }
    if (trusted === undefined || trusted.has(ip)) {
      counters.admitted++;
      return { ok: true };
    }
    if (digest === undefined) return refuse('untrusted', { ok: false, status: 403, reason: 'Forbidden' });
    if (digest.failures.exhausted(ip)) return refuse('auth-blocked', { ok: false, status: 403, reason: 'Forbidden' });
    const verdict = digest.authenticator.verify(firstHeader(invite, 'Authorization'), invite.method, invite.uri);
    if (verdict === 'ok') {
      counters.admitted++;
      return { ok: true };
    }
    if (verdict === 'invalid') {
      digest.failures.take(ip);
      counters['auth-failed']++;
    }
    // RFC 3261 §22.2 / RFC 2617 §3.2.1: 401 with a fresh challenge; stale=true when only the nonce expired.
    return refuse('challenged', {
      ok: false,
      status: 401,
      reason: 'Unauthorized',
      headers: digest.authenticator.challenge(verdict === 'stale'),
    });
  };
  return { hook, counters };
}
