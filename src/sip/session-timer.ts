// Session Timers (RFC 4028) as the UAS applies them: honour Session-Expires/Min-SE when the
// request asks, refuse intervals below our minimum with 422, pick the refresher, and say when
// the session expires without a refresh.
import type { HeaderField, SipRequest } from './message.ts';
import { firstHeader, headerValues, parseBoundedInteger } from './headers.ts';

/** RFC 4028 §4: the smallest Min-SE any element may demand. */
export const MIN_SE_FLOOR = 90;

export interface SessionTimer {
  /** Session interval in seconds. */
  readonly interval: number;
  readonly refresher: 'uac' | 'uas';
}

export type SessionTimerOutcome =
  | { readonly ok: true; readonly timer?: SessionTimer; readonly headers: HeaderField[] }
  | { readonly ok: false; readonly status: 422; readonly headers: HeaderField[] };

/** `delta-seconds *(;param)` of Session-Expires / Min-SE (RFC 4028 §4, §5). */
function readDelta(value: string | undefined): { seconds: number; refresher?: string } | undefined {
  if (value === undefined) return undefined;
  const [delta = '', ...params] = value.split(';');
  const seconds = parseBoundedInteger(delta, 0xffffffff);
  if (seconds === undefined) return undefined;
  const refresher = params
    .map((param) => param.trim().toLowerCase())
    .find((param) => param.startsWith('refresher='))
    ?.slice('refresher='.length)
    .trim();
  return refresher === undefined ? { seconds } : { seconds, refresher };
}

export function supportsTimer(request: SipRequest): boolean {
  return [...headerValues(request, 'Supported'), ...headerValues(request, 'Require')].some((tag) => tag.trim().toLowerCase() === 'timer');
}

/**
 * Applies RFC 4028 §9 to an INVITE or UPDATE. No Session-Expires: no timer. Below our Min-SE:
 * 422 with our Min-SE (§9). Otherwise the refresher is the request's choice, or the UAC when it
 * supports timers (the IVR then never has to refresh), else the UAS (§9: a UAC without timer
 * support cannot refresh). The 2xx carries Session-Expires, and Require: timer when the UAC
 * supports it (§9).
 */
export function negotiateSessionTimer(request: SipRequest, minSE: number): SessionTimerOutcome {
  const asked = readDelta(firstHeader(request, 'Session-Expires'));
  if (asked === undefined) return { ok: true, headers: [] };
  const floor = Math.max(minSE, MIN_SE_FLOOR);
  if (asked.seconds < floor) return { ok: false, status: 422, headers: [{ name: 'Min-SE', value: String(floor) }] };
  const uacSupports = supportsTimer(request);
  const refresher: 'uac' | 'uas' =
    !uacSupports ? 'uas' : asked.refresher === 'uas' ? 'uas' : 'uac';
  const timer = { interval: asked.seconds, refresher };
  const headers: HeaderField[] = [{ name: 'Session-Expires', value: `${timer.interval};refresher=${refresher}` }];
  if (uacSupports) headers.push({ name: 'Require', value: 'timer' });
  return { ok: true, timer, headers };
}

/** RFC 4028 §10: without a refresh, the session ends at interval − min(32, interval/3) seconds. */
export function expiryMs(timer: SessionTimer): number {
  return (timer.interval - Math.min(32, timer.interval / 3)) * 1000;
}

/** RFC 4028 §10: the refresher refreshes at half the interval. */
export function refreshMs(timer: SessionTimer): number {
  return (timer.interval / 2) * 1000;
}
