// The health model behind /health/live and /health/ready: pure functions from observed
// state to a report, so every rule is testable without a server. The admin HTTP server
// (src/server) gathers the inputs and sends `httpStatus(report)` with the report as JSON.
//
// Liveness asks only "is this process still able to work" (its event loop turns); it never
// looks at backends, so a database outage does not get healthy processes restarted.
// Readiness asks "should new calls be sent here".

export type CheckStatus = 'pass' | 'warn' | 'fail';
export type MemlockState = 'locked' | 'unlocked' | 'unsupported';

export interface HealthCheck {
  readonly name: string;
  readonly status: CheckStatus;
  /** What was observed: a count, a state; never anything a caller sent. */
  readonly observed?: number | string | boolean;
  /** What an operator can do about a warn or fail. */
  readonly hint?: string;
}

export interface HealthReport {
  readonly status: CheckStatus;
  readonly checks: readonly HealthCheck[];
}

export interface LivenessInputs {
  /** Longest event-loop delay seen recently, ms. */
  eventLoopDelayMaxMs: number;
}

export interface LivenessPolicy {
  /** An event loop stalled longer than this means the process is wedged. Default 5000 ms. */
  maxEventLoopDelayMs?: number;
}

/** One backend or the payment gateway, as the server's backends report it. */
export interface BackendHealth {
  /** Configured backend name (the payment gateway's connector name for kind 'payment'). */
  readonly name: string;
  readonly kind: 'postgres' | 'https' | 'payment';
  /** null: not known yet (no probe or request has finished). */
  readonly reachable: boolean | null;
  /** Plaintext, unverified connections (insecureDevelopment). */
  readonly insecure: boolean;
}

export interface ReadinessInputs {
  /** Listeners are up and start-up checks passed. */
  started: boolean;
  /** SIGTERM received: finishing calls, taking no new ones. */
  draining: boolean;
  cells: { free: number; total: number };
  memlock: MemlockState;
  backends: readonly BackendHealth[];
}

export interface ReadinessPolicy {
  /** Unlocked call memory (it could be swapped out) fails readiness unless this is false. Default true. */
  requireMemoryLock?: boolean;
}

const UNREACHABLE_HINT: Record<BackendHealth['kind'], string> = {
  postgres: 'database unreachable: callers are offered an agent',
  https: 'backend unreachable: callers are offered an agent',
  payment: 'payment gateway unreachable: payments fail and callers are offered an agent',
};
const UNKNOWN_HINT = 'not known yet: no connection or request to it has finished';
const INSECURE_HINT = 'insecureDevelopment: plaintext, unverified connection — for development only; configure TLS before real calls';
const MEMLOCK_HINT = 'raise RLIMIT_MEMLOCK: `ulimit -l unlimited` in the start wrapper, or LimitMEMLOCK=infinity in the systemd unit';
const DEFAULT_MAX_LOOP_DELAY_MS = 5000;

/** The worst status of the checks (fail > warn > pass). */
function overall(checks: readonly HealthCheck[]): CheckStatus {
  if (checks.some((check) => check.status === 'fail')) return 'fail';
  if (checks.some((check) => check.status === 'warn')) return 'warn';
  return 'pass';
}

export function liveness(inputs: LivenessInputs, policy: LivenessPolicy = {}): HealthReport {
  const limit = policy.maxEventLoopDelayMs ?? DEFAULT_MAX_LOOP_DELAY_MS;
  const stalled = !(inputs.eventLoopDelayMaxMs <= limit);
  const checks: HealthCheck[] = [
    {
      name: 'event-loop',
      status: stalled ? 'fail' : 'pass',
      observed: Math.round(inputs.eventLoopDelayMaxMs),
      ...(stalled && { hint: `event loop blocked for more than ${limit} ms` }),
    },
  ];
  return { status: overall(checks), checks };
}

function memlockCheck(state: MemlockState, required: boolean): HealthCheck {
  if (state === 'locked') return { name: 'memlock', status: 'pass', observed: state };
  return { name: 'memlock', status: required ? 'fail' : 'warn', observed: state, hint: MEMLOCK_HINT };
}

/**
 * A backend's reachability — an outage fails readiness (new calls would only reach the agent
 * fallback), not knowing yet only warns (an HTTPS backend is known after its first request) —
 * and, in insecure development mode, a warning that its connection is plaintext.
 */
function backendChecks(backend: BackendHealth): HealthCheck[] {
  const name = `${backend.kind === 'payment' ? 'payment' : 'backend'}:${backend.name}`;
  const reachability: HealthCheck =
    backend.reachable === true
      ? { name, status: 'pass', observed: true }
      : backend.reachable === false
        ? { name, status: 'fail', observed: false, hint: UNREACHABLE_HINT[backend.kind] }
        : { name, status: 'warn', observed: 'unknown', hint: UNKNOWN_HINT };
  if (!backend.insecure) return [reachability];
  return [reachability, { name: `${name}:insecure`, status: 'warn', observed: true, hint: INSECURE_HINT }];
}

export function readiness(inputs: ReadinessInputs, policy: ReadinessPolicy = {}): HealthReport {
  const checks: HealthCheck[] = [
    inputs.started ? { name: 'started', status: 'pass' } : { name: 'started', status: 'fail', hint: 'start-up has not finished' },
    inputs.draining
      ? { name: 'draining', status: 'fail', observed: true, hint: 'shutting down: finishing active calls' }
      : { name: 'draining', status: 'pass', observed: false },
    inputs.cells.free > 0
      ? { name: 'cells', status: 'pass', observed: inputs.cells.free }
      : { name: 'cells', status: 'fail', observed: 0, hint: `all ${inputs.cells.total} cells busy: new calls get 503` },
    memlockCheck(inputs.memlock, policy.requireMemoryLock ?? true),
    ...inputs.backends.flatMap(backendChecks),
  ];
  return { status: overall(checks), checks };
}

/** 200 while the instance should keep serving (pass or warn), 503 otherwise. */
export function httpStatus(report: HealthReport): 200 | 503 {
  return report.status === 'fail' ? 503 : 200;
}
