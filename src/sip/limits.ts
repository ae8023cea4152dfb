// Size limits for inbound SIP messages (issue 3): every input from outside is bounded.
// RFC 3261 sets no maxima; these keep one hostile peer from costing memory or CPU.

export interface SipLimits {
  /** Whole message, start line to end of body, in bytes. */
  readonly maxMessageBytes: number;
  /** Header fields after unfolding (§7.3.1); a comma list counts once per line. */
  readonly maxHeaderFields: number;
  /** Via values across all Via fields (§20.42). */
  readonly maxViaValues: number;
}

export const DEFAULT_SIP_LIMITS: SipLimits = Object.freeze({
  maxMessageBytes: 64 * 1024,
  maxHeaderFields: 256,
  maxViaValues: 32,
});
