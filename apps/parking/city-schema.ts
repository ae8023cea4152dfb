// The city's parking database as the demo seeds it. The first three tickets are the
// documented demo dataset (issue 7) that docs and tests rely on; the rest are generated
// deterministically for load tests, plus, on request, alike tickets with citations a load
// generator chose (the bench's parking scenario). Runs as the database owner during seeding only.
import { STATE_CODES, keypadForm } from './states.ts';

/** The database role the IVR logs in as (the CN of its client certificate). */
export const APP_ROLE = 'traceless';
export const CITY_DATABASE = 'city';
/**
 * The city's own read-only role (certificate login, never given to the IVR): how the city,
 * and the end-to-end tests, check what a call recorded.
 */
export const AUDITOR_ROLE = 'city_auditor';
export const GENERATED_TICKETS = 1200;

export interface DemoTicket {
  citation: string;
  plate: string;
  state: string;
  violation: string;
  issuedOn: string;
  amountCents: number;
  status: 'unpaid' | 'paid';
}

/** Issue 7's demo dataset, exactly. */
export const DEMO_TICKETS: readonly DemoTicket[] = [
  { citation: '12345678', plate: '7ABC123', state: 'CA', violation: 'expired meter', issuedOn: '2026-10-03', amountCents: 6500, status: 'unpaid' },
  { citation: '23456789', plate: '7ABC123', state: 'CA', violation: 'street cleaning', issuedOn: '2026-11-12', amountCents: 6500, status: 'unpaid' },
  { citation: '34567890', plate: '4XYZ789', state: 'TX', violation: 'red zone', issuedOn: '2026-09-21', amountCents: 9500, status: 'paid' },
];

const KEYPAD_SQL = "translate(upper(plate), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', '22233344455566677778889999')";

export const SCHEMA_SQL = `
CREATE TABLE states (
  code smallint PRIMARY KEY,
  abbr char(2) NOT NULL UNIQUE,
  name text NOT NULL
);
CREATE TABLE tickets (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  citation text NOT NULL UNIQUE CHECK (citation ~ '^[0-9]{8}$'),
  plate text NOT NULL,
  plate_keypad text NOT NULL GENERATED ALWAYS AS (${KEYPAD_SQL}) STORED,
  state char(2) NOT NULL REFERENCES states (abbr),
  violation text NOT NULL,
  issued_on date NOT NULL,
  amount_cents integer NOT NULL CHECK (amount_cents > 0),
  status text NOT NULL CHECK (status IN ('unpaid', 'paid'))
);
CREATE INDEX tickets_plate_keypad ON tickets (plate_keypad, state);
-- What the city keeps about a card payment: the ticket, the amount, the gateway's
-- authorization and the card's last four digits (PCI DSS 3.4.1). Nothing else.
CREATE TABLE payments (
  confirmation bigint GENERATED ALWAYS AS IDENTITY (START WITH 40000001) PRIMARY KEY,
  ticket_id integer NOT NULL REFERENCES tickets (id),
  amount_cents integer NOT NULL CHECK (amount_cents > 0),
  gateway_authorization text NOT NULL,
  card_last4 char(4) NOT NULL CHECK (card_last4 ~ '^[0-9]{4}$'),
  paid_at timestamptz NOT NULL DEFAULT now()
);
`;

/** The IVR reads tickets, marks them paid and records payments; nothing more. */
export const GRANTS_SQL = `
GRANT CONNECT ON DATABASE ${CITY_DATABASE} TO ${APP_ROLE};
GRANT SELECT ON states, tickets TO ${APP_ROLE};
GRANT UPDATE (status) ON tickets TO ${APP_ROLE};
GRANT INSERT ON payments TO ${APP_ROLE};
GRANT SELECT (confirmation) ON payments TO ${APP_ROLE};
GRANT CONNECT ON DATABASE ${CITY_DATABASE} TO ${AUDITOR_ROLE};
GRANT SELECT ON states, tickets, payments TO ${AUDITOR_ROLE};
`;

/** Deterministic filler: setseed makes every run produce the same plates. */
export const GENERATED_SQL = `
SELECT setseed(0.20261128);
INSERT INTO tickets (citation, plate, state, violation, issued_on, amount_cents, status)
SELECT (50000000 + g)::text,
       (1 + floor(random() * 9))::int::text
         || chr(65 + floor(random() * 26)::int) || chr(65 + floor(random() * 26)::int) || chr(65 + floor(random() * 26)::int)
         || lpad(floor(random() * 1000)::int::text, 3, '0'),
       (ARRAY['CA','CA','CA','CA','TX','NV','OR','AZ','WA','NY'])[1 + floor(random() * 10)::int],
       (ARRAY['expired meter','street cleaning','red zone','double parking','no permit','fire hydrant'])[1 + floor(random() * 6)::int],
       date '2026-01-01' + floor(random() * 320)::int,
       (ARRAY[6500, 7500, 9500, 11000, 30000])[1 + floor(random() * 5)::int],
       CASE WHEN random() < 0.3 THEN 'paid' ELSE 'unpaid' END
FROM generate_series(1, ${GENERATED_TICKETS}) AS g;
-- Keep the documented plates unambiguous: no generated ticket shares their keypad form.
DELETE FROM tickets WHERE citation >= '50000000' AND plate_keypad IN (${[...new Set(DEMO_TICKETS.map((t) => `'${keypadForm(t.plate)}'`))].join(', ')});
`;

/**
 * What every load-test ticket looks like (only the citation differs): unpaid and alike, so a
 * load generator that cannot listen knows how long the read-back lasts.
 */
export const LOAD_TEST_TICKET = { plate: 'LOADTEST', state: 'CA', violation: 'expired meter', issuedOn: '2026-10-03', amountCents: 6500 } as const;

/** Reads a load test's citations, one per line (8 digits each, no duplicates); throws naming the bad line. */
export function parseLoadTestCitations(text: string): string[] {
  const seen = new Set<string>();
  text.split('\n').forEach((line, index) => {
    const citation = line.trim();
    if (citation === '') return;
    if (citation.length !== 8 || [...citation].some((c) => c < '0' || c > '9')) throw new Error(`load-test citations, line ${index + 1}: not 8 digits`);
    if (seen.has(citation)) throw new Error(`load-test citations, line ${index + 1}: a duplicate`);
    seen.add(citation);
  });
  return [...seen];
}

/** One unpaid LOAD_TEST_TICKET per citation; a citation the city already has fails the insert. */
export function loadTestTicketsStatement(citations: readonly string[]): { text: string; values: unknown[] } {
  const t = LOAD_TEST_TICKET;
  return {
    text: `INSERT INTO tickets (citation, plate, state, violation, issued_on, amount_cents, status)
           SELECT citation, $2, $3, $4, $5::date, $6, 'unpaid' FROM unnest($1::text[]) AS citation`,
    values: [citations, t.plate, t.state, t.violation, t.issuedOn, t.amountCents],
  };
}

export function seedStatements(): Array<{ text: string; values: unknown[] }> {
  const statements: Array<{ text: string; values: unknown[] }> = STATE_CODES.map((state) => ({
    text: 'INSERT INTO states (code, abbr, name) VALUES ($1, $2, $3)',
    values: [state.code, state.abbr, state.name],
  }));
  for (const ticket of DEMO_TICKETS) {
    statements.push({
      text: 'INSERT INTO tickets (citation, plate, state, violation, issued_on, amount_cents, status) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      values: [ticket.citation, ticket.plate, ticket.state, ticket.violation, ticket.issuedOn, ticket.amountCents, ticket.status],
    });
  }
  return statements;
}
