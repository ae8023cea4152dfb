// The parking line's backends: the named operations the flow may run against the city
// database, and the connector configs that point at the demo stack. A real deployment
// uses the same operations with its own host, port and TLS files (docs/connectors.md).
import type { PostgresBackendConfig, PostgresOperation } from '../../src/connectors/postgres.ts';
import type { HttpsJsonBackendConfig } from '../../src/connectors/https-json.ts';
import type { DemoStack } from './demo-stack.ts';

/**
 * $1 parameters that the caller keyed securely (citation, keypad plate) are Secrets and
 * travel in binary; the citation column comes back as a Secret (never read back in full).
 */
export const CITY_OPERATIONS: Record<string, PostgresOperation> = {
  // Citation path (issue 7 step 3): $1 = 8-digit citation (Secret).
  ticketByCitation: {
    sql: 'SELECT id, violation, issued_on, amount_cents, status FROM tickets WHERE citation = $1',
    params: ['citation'],
  },
  // Plate path (step 4): $1 = keypad form of the plate (Secret), $2 = two-digit state code.
  unpaidByPlate: {
    sql: `SELECT t.id, t.citation, t.plate, t.violation, t.issued_on, t.amount_cents
            FROM tickets t JOIN states s ON s.abbr = t.state
           WHERE t.plate_keypad = $1 AND s.code = $2::smallint AND t.status = 'unpaid'
           ORDER BY t.issued_on, t.id`,
    sensitiveColumns: { citation: 'account' },
    params: ['plateKeypad', 'stateCode'],
  },
  // After an approved charge (step 5): $1 = ticket id, $2 = gateway authorization, $3 = last four.
  recordPayment: {
    sql: `WITH paid AS (
            UPDATE tickets SET status = 'paid' WHERE id = $1::int AND status = 'unpaid' RETURNING id, amount_cents)
          INSERT INTO payments (ticket_id, amount_cents, gateway_authorization, card_last4)
          SELECT id, amount_cents, $2, $3 FROM paid
          RETURNING confirmation`,
    params: ['ticketId', 'authorization', 'last4'],
  },
};

export function demoBackendConfigs(stack: Pick<DemoStack, 'db' | 'gateway'>): { city: PostgresBackendConfig; gateway: HttpsJsonBackendConfig } {
  return {
    city: {
      name: 'city',
      host: stack.db.host,
      port: stack.db.port,
      database: stack.db.database,
      user: stack.db.user,
      // The server certificate names localhost and 127.0.0.1; verify against the name.
      tls: { ...stack.db.tls, servername: 'localhost' },
      operations: CITY_OPERATIONS,
    },
    gateway: {
      name: 'gateway',
      allowedHosts: [stack.gateway.host],
      endpoints: { charge: { method: 'POST', url: stack.gateway.url } },
      tls: stack.gateway.tls,
    },
  };
}
