// Card payments behind one adapter interface: authorize and capture in a single step,
// amounts in integer cents, one idempotency key per attempt. The HTTPS adapter speaks the
// JSON protocol of apps/parking/test-gateway.ts; other gateways get their own adapter with
// the same interface. Card data travels only as Secrets written into the request buffer.
import type { Secret } from '../vault/types.ts';
import { BackendUnavailableError } from './errors.ts';
import type { HttpsJsonConnector } from './https-json.ts';
import type { ConnectorLogger } from './types.ts';

export interface ChargeRequest {
  amountCents: number;
  card: Secret;
  /** MMYY. */
  expiry: Secret;
  cvv: Secret;
  /** Billing ZIP, 5 digits. */
  zip: Secret;
  /** Unique per payment attempt: a retried request with the same key is charged once. */
  idempotencyKey: string;
}

export type DeclineReason = 'declined' | 'invalid' | 'unavailable';

export type ChargeResult =
  | { approved: true; authCode: string; last4: string }
  | { approved: false; reason: DeclineReason };

/** The port the flow's pay() step uses. */
export interface PaymentGateway {
  charge(request: ChargeRequest): Promise<ChargeResult>;
}

const MAX_AMOUNT_CENTS = 10_000_000;
const IDEMPOTENCY_KEY_BYTES = 64;

/** Authorization codes are shown to the caller and stored by the city: short and plain. */
function isAuthCode(value: unknown): value is string {
  if (typeof value !== 'string' || value.length < 4 || value.length > 32) return false;
  for (const char of value) if (!/[A-Z0-9]/.test(char)) return false;
  return true;
}

function isLast4(value: unknown): value is string {
  return typeof value === 'string' && value.length === 4 && [...value].every((char) => char >= '0' && char <= '9');
}

/**
 * Test-gateway protocol: POST {amount_cents, currency, card: {number, expiry, cvv, zip}}
 * with an Idempotency-Key header →
 *   200 {approved: true, authorization, last4} | 402 {approved: false, reason: 'declined'}
 *   | 422 {approved: false, reason: 'invalid'}.
 */
export class HttpsPaymentGateway implements PaymentGateway {
  constructor(
    private readonly https: HttpsJsonConnector,
    private readonly logger: ConnectorLogger,
    private readonly endpoint = 'charge',
    private readonly currency = 'USD',
  ) {}

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    if (!Number.isInteger(request.amountCents) || request.amountCents <= 0 || request.amountCents > MAX_AMOUNT_CENTS) {
      return { approved: false, reason: 'invalid' };
    }
    const key = request.idempotencyKey;
    if (typeof key !== 'string' || key.length === 0 || key.length > IDEMPOTENCY_KEY_BYTES) return { approved: false, reason: 'invalid' };
    const started = process.hrtime.bigint();
    const outcome = await this.send(request);
    this.logger.info(
      {
        event: 'payment.result',
        backend: this.https.name,
        approved: outcome.approved,
        reason: outcome.approved ? undefined : outcome.reason,
        latencyMs: Number(process.hrtime.bigint() - started) / 1e6,
      },
      'payment result',
    );
    return outcome;
  }

  private async send(request: ChargeRequest): Promise<ChargeResult> {
    let response;
    try {
      response = await this.https.request(
        this.endpoint,
        {
          amount_cents: request.amountCents,
          currency: this.currency,
          card: { number: request.card, expiry: request.expiry, cvv: request.cvv, zip: request.zip },
        },
        { idempotencyKey: request.idempotencyKey },
      );
    } catch (error) {
      if (error instanceof BackendUnavailableError) return { approved: false, reason: 'unavailable' };
      throw error;
    }
    const body = response.json as { approved?: unknown; authorization?: unknown; last4?: unknown; reason?: unknown } | null;
    if (response.status === 200 && body?.approved === true && isAuthCode(body.authorization) && isLast4(body.last4)) {
      return { approved: true, authCode: body.authorization, last4: body.last4 };
    }
    if (response.status === 402 && body?.approved === false) return { approved: false, reason: 'declined' };
    if ((response.status === 422 || response.status === 400) && body?.approved === false) return { approved: false, reason: 'invalid' };
    // Anything else (an unknown shape, a 409 idempotency conflict, a 429) is not a
    // decision the caller can act on: treat it as the gateway being unavailable.
    return { approved: false, reason: 'unavailable' };
  }
}
