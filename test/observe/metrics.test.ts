import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Metrics } from '../../src/observe/metrics.ts';
import { createMetrics } from '../../src/observe/metrics.ts';
import { createLogger } from '../../src/observe/logger.ts';

/** The value of one sample line, e.g. sample(text, 'traceless_calls_total{outcome="completed"}'). */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

async function withMetrics(run: (metrics: Metrics) => Promise<void>): Promise<void> {
  const metrics = createMetrics({ backends: ['city-db'] });
  try {
    await run(metrics);
  } finally {
    metrics.close();
  }
}

test('every metric appears in the exposition with its value after updates', () =>
  withMetrics(async (metrics) => {
    metrics.observeCells(() => ({ active: 3, free: 997 }));
    metrics.callEnded('completed');
    metrics.callEnded('completed');
    metrics.callEnded('transferred');
    metrics.callSetupMs(4);
    metrics.keyResponseMs(12);
    metrics.keyResponseMs(30);
    metrics.backendQuery('city-db', 'ok', 5);
    metrics.payment('approved', 200);
    metrics.payment('declined', 300);
    metrics.wipe({ bytes: 4096, verified: true, durationMs: 0.04 });
    metrics.wipe({ bytes: 1024, verified: false, durationMs: 0.2 });
    metrics.mediaClockLatenessMs(1.5);
    metrics.logMaskHit('luhn');
    metrics.rtpDropped({ address: 40, 'srtp-auth': 2, ssrc: 0 });
    metrics.rtpDropped({ address: 1 });

    const text = await metrics.exposition();
    const expected: Array<[string, number]> = [
      ['traceless_active_calls', 3],
      ['traceless_free_cells', 997],
      ['traceless_calls_total{outcome="completed"}', 2],
      ['traceless_calls_total{outcome="transferred"}', 1],
      ['traceless_calls_total{outcome="abandoned"}', 0],
      ['traceless_call_setup_seconds_count', 1],
      ['traceless_call_setup_seconds_sum', 0.004],
      ['traceless_call_setup_seconds_bucket{le="0.005"}', 1],
      ['traceless_call_setup_seconds_bucket{le="0.0025"}', 0],
      ['traceless_key_response_seconds_count', 2],
      ['traceless_key_response_seconds_bucket{le="0.025"}', 1],
      ['traceless_backend_latency_seconds_count{backend="city-db",outcome="ok"}', 1],
      ['traceless_payments_total{result="approved"}', 1],
      ['traceless_payments_total{result="declined"}', 1],
      ['traceless_payment_latency_seconds_count', 2],
      ['traceless_payment_latency_seconds_sum', 0.5],
      ['traceless_wipes_total{verified="true"}', 1],
      ['traceless_wipes_total{verified="false"}', 1],
      ['traceless_wiped_bytes_total', 5120],
      ['traceless_wipe_duration_seconds_count', 2],
      ['traceless_wipe_duration_seconds_bucket{le="0.00005"}', 1],
      ['traceless_media_clock_lateness_seconds_count', 1],
      ['traceless_media_clock_lateness_seconds_bucket{le="0.002"}', 1],
      ['traceless_log_mask_hits_total{rule="luhn"}', 1],
      ['traceless_log_mask_hits_total{rule="long-run"}', 0],
      ['traceless_rtp_dropped_packets_total{reason="address"}', 41],
      ['traceless_rtp_dropped_packets_total{reason="srtp-auth"}', 2],
      ['traceless_rtp_dropped_packets_total{reason="ssrc"}', 0],
      ['traceless_rtp_dropped_packets_total{reason="srtp-replay"}', 0],
    ];
    for (const [series, value] of expected) assert.equal(sample(text, series), value, series);
    for (const stat of ['p50', 'p99', 'max']) {
      const value = sample(text, `traceless_event_loop_delay_seconds{stat="${stat}"}`);
      assert.ok(value !== undefined && value >= 0, stat);
    }
  }));

test('label values outside the configuration or the fixed enums never reach the exposition', () =>
  withMetrics(async (metrics) => {
    metrics.backendQuery('4111111111111111', 'ok', 1);
    metrics.backendQuery('city-db', '5551234567' as never, 1);
    metrics.callEnded('caller typed 12345678' as never);
    metrics.payment('1234' as never, 1);
    metrics.rtpDropped({ '4111111111111111': 3 });
    const text = await metrics.exposition();
    assert.ok(!/4111|5551234567|12345678|1234"/.test(text));
    assert.equal(sample(text, 'traceless_backend_latency_seconds_count{backend="other",outcome="ok"}'), 1);
    assert.equal(sample(text, 'traceless_backend_latency_seconds_count{backend="city-db",outcome="other"}'), 1);
    assert.equal(sample(text, 'traceless_calls_total{outcome="other"}'), 1);
    assert.equal(sample(text, 'traceless_payments_total{result="other"}'), 1);
    assert.equal(sample(text, 'traceless_rtp_dropped_packets_total{reason="other"}'), 3);
  }));

test('the logger feeds mask hits and dropped-field counts', () =>
  withMetrics(async (metrics) => {
    const logger = createLogger({ level: 'info', destination: { write: () => undefined }, onMaskHit: (rule) => metrics.logMaskHit(rule) });
    metrics.observeLogger(() => logger.stats());
    logger.info('leaked 4111111111111111 and 12345678');
    logger.event('flow.step', { callId: 'c', step: 's', digits: '12' } as never);
    logger.event('flow.step', { callId: 'c', step: 7 } as never);
    const text = await metrics.exposition();
    assert.equal(sample(text, 'traceless_log_mask_hits_total{rule="luhn"}'), 1);
    assert.equal(sample(text, 'traceless_log_mask_hits_total{rule="long-run"}'), 1);
    assert.equal(sample(text, 'traceless_log_dropped_fields_total{reason="unknown"}'), 1);
    assert.equal(sample(text, 'traceless_log_dropped_fields_total{reason="invalid"}'), 1);
    assert.equal(sample(text, 'traceless_log_write_errors_total'), 0);
  }));

test('log write errors are exposed', () =>
  withMetrics(async (metrics) => {
    const failing = createLogger({ level: 'info', destination: { write: () => { throw new Error('EIO'); } } });
    metrics.observeLogger(() => failing.stats());
    failing.info('one');
    failing.info('two');
    assert.equal(sample(await metrics.exposition(), 'traceless_log_write_errors_total'), 2);
  }));

test('each metrics set has its own registry, and close() is safe twice', async () => {
  const a = createMetrics({ backends: [] });
  const b = createMetrics({ backends: [] });
  a.callEnded('failed');
  assert.equal(sample(await b.exposition(), 'traceless_calls_total{outcome="failed"}'), 0);
  assert.equal(sample(await a.exposition(), 'traceless_calls_total{outcome="failed"}'), 1);
  a.close();
  a.close();
  b.close();
  assert.match(a.contentType, /^text\/plain/);
});

test('the pool\'s final wipe counts every cell, and a failed read-back counts them all as a defect', () =>
  withMetrics(async (metrics) => {
    metrics.wipe({ bytes: 1024, verified: true, durationMs: 0.04 });
    metrics.poolShutdown({ cellsWiped: 4, verified: true });
    let text = await metrics.exposition();
    assert.equal(sample(text, 'traceless_wipes_total{verified="true"}'), 5);
    assert.equal(sample(text, 'traceless_wipes_total{verified="false"}'), 0);
    metrics.poolShutdown({ cellsWiped: 4, verified: false });
    text = await metrics.exposition();
    assert.equal(sample(text, 'traceless_wipes_total{verified="false"}'), 4);
    assert.equal(sample(text, 'traceless_wipes_total{verified="true"}'), 5);
  }));
