// Log masker throughput: typical clean lines (the normal case: no hit, no allocation),
// lines with hits, and hostile inputs (long digit/separator runs) at growing sizes to
// show the cost stays linear. Run: node --import tsx bench/log-mask.ts [--quick]
import { performance } from 'node:perf_hooks';
import { createLogMasker } from '../src/observe/masker.ts';
import { createLogger } from '../src/observe/logger.ts';

const quick = process.argv.includes('--quick');
const budgetMs = quick ? 200 : 1000;

interface Result {
  case: string;
  lineBytes: number;
  linesPerSecond: number;
  mbPerSecond: number;
  nsPerByte: number;
}

function measure(name: string, lines: readonly string[]): Result {
  const masker = createLogMasker();
  let sink = 0;
  // Warm up so the JIT has compiled the scanner before timing.
  for (let i = 0; i < 2000; i++) sink += masker.mask(lines[i % lines.length]!).length;
  let count = 0;
  let bytes = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < budgetMs) {
    for (let i = 0; i < 1000; i++) {
      const line = lines[count % lines.length]!;
      sink += masker.mask(line).length;
      bytes += line.length;
      count++;
    }
    elapsed = performance.now() - start;
  }
  if (sink === -1) process.stdout.write('');
  const seconds = elapsed / 1000;
  return {
    case: name,
    lineBytes: Math.round(bytes / count),
    linesPerSecond: Math.round(count / seconds),
    mbPerSecond: Math.round((bytes / seconds / 1e6) * 10) / 10,
    nsPerByte: Math.round(((elapsed * 1e6) / bytes) * 100) / 100,
  };
}

const clean = [
  '{"level":"info","time":"2026-11-28T19:17:39.123Z","event":"gather.done","callId":"c-qwxz","step":"card-number","secure":true,"outcome":"terminator","keys":16,"durationMs":8123.5}',
  '{"level":"info","time":"2026-11-28T19:17:39.124Z","event":"backend.query","callId":"c-qwxz","backend":"city-db","operation":"citation-lookup","outcome":"ok","latencyMs":4.5,"rows":1}',
  '{"level":"info","time":"2026-11-28T19:17:39.125Z","event":"cdr","callId":"c-qwxz","dialled":"+18005550100","caller":"h:abcdefghijklmnop","durationMs":95000,"outcome":"completed","steps":["greeting","language","main-menu","citation","pay","confirm"]}',
];
const withHits = [
  '{"level":"warn","time":"2026-11-28T19:17:39.123Z","msg":"card 4111 1111 1111 1111 and account 123456789 leaked"}',
  '{"level":"warn","time":"2026-11-28T19:17:39.123Z","account":12345678,"msg":"leak"}',
];

const results: Result[] = [measure('clean event lines', clean), measure('lines with hits', withHits)];
for (const size of [1_000, 10_000, 100_000]) {
  const digits = '1234 '.repeat(size / 5);
  const separators = '1-'.repeat(size / 2);
  results.push(measure(`hostile: digit groups, ${size} B`, [JSON.stringify({ msg: digits })]));
  results.push(measure(`hostile: dash-separated digits, ${size} B`, [JSON.stringify({ msg: separators })]));
}

/** The whole event path: allowlist, pino serialisation and the masker, into a no-op destination. */
function measureEvents(): Result {
  let bytes = 0;
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => (bytes += line.length) } });
  const fields = { callId: 'c-qwxz', step: 'card-number', secure: true, outcome: 'terminator', keys: 16, durationMs: 8123.5 } as const;
  for (let i = 0; i < 2000; i++) logger.event('gather.done', fields);
  bytes = 0;
  let count = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < budgetMs) {
    for (let i = 0; i < 1000; i++) logger.event('gather.done', fields);
    count += 1000;
    elapsed = performance.now() - start;
  }
  const seconds = elapsed / 1000;
  return {
    case: 'logger.event (allowlist + pino + masker)',
    lineBytes: Math.round(bytes / count),
    linesPerSecond: Math.round(count / seconds),
    mbPerSecond: Math.round((bytes / seconds / 1e6) * 10) / 10,
    nsPerByte: Math.round(((elapsed * 1e6) / bytes) * 100) / 100,
  };
}
results.push(measureEvents());

process.stdout.write('| case | bytes/line | lines/s | MB/s | ns/byte |\n|---|---:|---:|---:|---:|\n');
for (const r of results) {
  process.stdout.write(`| ${r.case} | ${r.lineBytes} | ${r.linesPerSecond} | ${r.mbPerSecond} | ${r.nsPerByte} |\n`);
}
