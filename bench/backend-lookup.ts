// Backend lookup latency (issue 7, "Measured"): the parking line's citation lookup over the
// pooled, mutually authenticated TLS connection to the demo's real PostgreSQL, with the
// citation bound from a Secret — the wait a caller adds at the backend step. A trivial
// operation over the same connection separates transport from query cost.
// Run: node --import tsx bench/backend-lookup.ts   (BENCH_LOOKUPS=n, default 500)
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CellPool } from '../src/vault/cell-pool.ts';
import { PostgresConnector } from '../src/connectors/postgres.ts';
import { silentLogger } from '../src/connectors/types.ts';
import { startDemoStack } from '../apps/parking/demo-stack.ts';
import { CITY_OPERATIONS, demoBackendConfigs } from '../apps/parking/backends.ts';
import { machineInfo } from './lib/proc.ts';
import { percentile } from './lib/pcap-rtp.ts';

const root = join(import.meta.dirname, '..');
const LOOKUPS = Number(process.env.BENCH_LOOKUPS ?? 500);

function commit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function summary(samples: number[]): { p50: number; p99: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (value: number) => Math.round(value * 1000) / 1000;
  return { p50: round(percentile(sorted, 0.5)), p99: round(percentile(sorted, 0.99)), max: round(sorted.at(-1) ?? Number.NaN) };
}

const before = machineInfo();
const stack = await startDemoStack({ handleSignals: false });
const pool = new CellPool({ cells: 1, slotsPerCell: 8 });
const { city } = demoBackendConfigs(stack);
const connector = new PostgresConnector(
  { ...city, poolSize: 4, operations: { ...CITY_OPERATIONS, ping: { sql: 'SELECT 1 AS one' } } },
  silentLogger,
);
try {
  if (!(await connector.warm())) throw new Error('the demo database is not reachable');
  const citation = { lookup: [] as number[], ping: [] as number[] };
  for (let i = 0; i < LOOKUPS; i++) {
    const cell = pool.acquire()!;
    const keyed = Buffer.alloc(8);
    keyed.write(i % 2 === 0 ? '12345678' : '99999999'); // a found and an unknown citation
    const secret = cell.importSecret('account', keyed);
    let started = performance.now();
    await connector.run('ticketByCitation', { citation: secret }, { cell });
    citation.lookup.push(performance.now() - started);
    started = performance.now();
    await connector.run('ping', []);
    citation.ping.push(performance.now() - started);
    cell.release('completed');
  }
  const result = {
    date: new Date().toISOString(),
    commit: commit(),
    machine: { ...before, loadAverageAfter: machineInfo().loadAverage },
    lookups: LOOKUPS,
    citationLookupMs: summary(citation.lookup),
    pingMs: summary(citation.ping),
  };
  const table = [
    `# Backend lookup latency — ${result.date}, commit ${result.commit}`,
    '',
    `${result.machine.nproc}× ${result.machine.model}; load average before ${before.loadAverage.join(' ')}, after ${result.machine.loadAverageAfter.join(' ')}. ` +
      `${LOOKUPS} sequential operations of each kind on a warm pool of 4 mutual-TLS (client-certificate) connections to the demo PostgreSQL.`,
    '',
    '| operation | p50 ms | p99 ms | max ms |',
    '|---|---:|---:|---:|',
    `| citation lookup (Secret parameter, binary bind) | ${result.citationLookupMs.p50} | ${result.citationLookupMs.p99} | ${result.citationLookupMs.max} |`,
    `| SELECT 1 (same connection: transport floor) | ${result.pingMs.p50} | ${result.pingMs.p99} | ${result.pingMs.max} |`,
    '',
    'The citation lookup is the wait the backend step adds to the caller (the flow adds only a timer race around it).',
    '',
  ].join('\n');
  process.stdout.write(`${table}\n`);
  const out = join(root, 'bench', 'results');
  mkdirSync(out, { recursive: true });
  const name = `${result.date.slice(0, 10)}-${result.commit}-lookup`;
  writeFileSync(join(out, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(out, `${name}.md`), table);
} finally {
  await connector.close();
  pool.shutdown();
  await stack.stop();
}
