// The city's read-only auditor login to its own database, for checks that must not trust the IVR
// (tests and the bench count payment rows with it; the IVR is never given it).
import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { DemoStack } from './demo-stack.ts';

/** Connects as the auditor role with its client certificate, verifying the demo CA. */
export async function connectAuditor(db: Pick<DemoStack['db'], 'host' | 'port' | 'database' | 'tls' | 'auditor'>): Promise<pg.Client> {
  const client = new pg.Client({
    host: db.host,
    port: db.port,
    database: db.database,
    user: db.auditor.user,
    ssl: { ca: readFileSync(db.tls.ca), cert: readFileSync(db.auditor.cert), key: readFileSync(db.auditor.key), servername: 'localhost', minVersion: 'TLSv1.2' },
  });
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return client;
}
