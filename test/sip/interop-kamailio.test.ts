// Interop with the real Kamailio (Debian package) as a chain of two record-routing, stateful
// proxies between sipp (the caller) and our SIP stack: sipp → edge → core → test UAS
// (kamailio-harness.ts, fixtures/kamailio/proxy.cfg). What a direct call cannot show: responses
// routed back along several Vias (RFC 3261 §18.2.2, §16.7), Record-Route echoed into the 2xx
// (§12.1.1), in-dialog requests following the route set in both directions (§12.2.1.1, loose
// routing §16.12), CANCEL hop by hop (§16.10), and a proxy that stays out of the dialog.
// Assertions are on the bytes each proxy traced on the wire next to us, and on sipp's own checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { loopbackNamespaceSkip, runInLoopbackNamespace } from '../support/loopback-namespace.ts';
import type { KamailioRun, ProxyTrace } from './kamailio-harness.ts';
import type { UasReport } from './test-uas.ts';

const skip = loopbackNamespaceSkip('sipp', 'kamailio');
const harness = resolve(import.meta.dirname, 'kamailio-harness.ts');
type Run = KamailioRun & UasReport;

function kamailio(scenario: string, service: string, routing: 'record-route' | 'no-record-route' = 'record-route', extra: string[] = []): Promise<Run> {
  return runInLoopbackNamespace<Run>(harness, [scenario, service, routing, ...extra]);
}

/** One run shared by the tests that look at different parts of it. */
function shared(start: () => Promise<Run>): () => Promise<Run> {
  let run: Promise<Run> | undefined;
  return () => (run ??= start());
}

function startLine(trace: ProxyTrace): string {
  return trace.text.slice(0, trace.text.indexOf('\r\n'));
}

/** Header lines named `name`, as written (one entry per line). */
function headerLines(text: string, name: string): string[] {
  const head = text.slice(0, text.indexOf('\r\n\r\n'));
  return head
    .split('\r\n')
    .slice(1)
    .filter((line) => line.toLowerCase().startsWith(`${name.toLowerCase()}:`));
}

function find(run: Run, proxy: ProxyTrace['proxy'], event: string, peer: number, start: RegExp, cseq?: string): ProxyTrace {
  const found = run.traces.find(
    (trace) =>
      trace.proxy === proxy &&
      trace.event === event &&
      trace.peer === `127.0.0.1:${peer}` &&
      start.test(startLine(trace)) &&
      (cseq === undefined || headerLines(trace.text, 'CSeq').includes(`CSeq: ${cseq}`)),
  );
  assert.ok(found, `no ${event} ${start} at ${proxy} with 127.0.0.1:${peer}`);
  return found;
}

const viaOf = (port: number) => new RegExp(`^Via: SIP/2\\.0/UDP 127\\.0\\.0\\.1:${port};`);

const proxiedCall = shared(() => kamailio('uac-proxied-call.xml', '5551000'));

test('Kamailio ×2: the 200 OK to the INVITE goes back along all three Vias (§18.2.2, §16.7)', { skip, timeout: 60_000 }, async () => {
  const run = await proxiedCall();
  const { uas, core, edge } = run.ports;
  const invite = find(run, 'core', 'sent-request', uas, /^INVITE /);
  const vias = headerLines(invite.text, 'Via');
  assert.equal(vias.length, 3);
  [core, edge, run.ports.sipp].forEach((port, i) => assert.match(vias[i]!, viaOf(port)));
  // Our 200 reached the core proxy (top Via), from our listener, with the Vias exactly as received.
  const ok = find(run, 'core', 'received-reply', uas, /^SIP\/2\.0 200 /, '1 INVITE');
  assert.deepEqual(headerLines(ok.text, 'Via'), vias);
  // Core took its Via off and passed it to the edge, which passed it to the caller.
  assert.deepEqual(headerLines(find(run, 'edge', 'received-reply', core, /^SIP\/2\.0 200 /, '1 INVITE').text, 'Via'), vias.slice(1));
  assert.match(run.sippMessages, /message received \[\d+\] bytes :\s+SIP\/2\.0 200 OK\r\n/);
  assert.deepEqual(run.calls.map(({ dialled, transport }) => ({ dialled, transport })), [{ dialled: '5551000', transport: 'udp' }]);
});

test('Kamailio ×2: the 200 OK carries the Record-Route as received; the caller’s ACK and BYE follow the route set to us (§12.1.1, §16.12)', { skip, timeout: 60_000 }, async () => {
  const run = await proxiedCall();
  const { uas, core, edge } = run.ports;
  const invite = find(run, 'core', 'sent-request', uas, /^INVITE /);
  const recordRoute = headerLines(invite.text, 'Record-Route');
  assert.equal(recordRoute.length, 2);
  [core, edge].forEach((port, i) => assert.ok(recordRoute[i]!.startsWith(`Record-Route: <sip:127.0.0.1:${port};lr`)));
  const ok = find(run, 'core', 'received-reply', uas, /^SIP\/2\.0 200 /, '1 INVITE');
  assert.deepEqual(headerLines(ok.text, 'Record-Route'), recordRoute);
  assert.equal(run.code, 0, `sipp: ${run.stderr}`); // sipp checked both entries and got 200 to its BYE
  // ACK and BYE left the core addressed to our Contact, every Route entry consumed on the way.
  const contact = /^Contact: <(.+)>$/.exec(headerLines(ok.text, 'Contact')[0] ?? '')?.[1];
  assert.equal(contact, `sip:127.0.0.1:${uas}`);
  for (const method of ['ACK', 'BYE']) {
    const request = find(run, 'core', 'sent-request', uas, new RegExp(`^${method} `));
    assert.equal(startLine(request), `${method} ${contact} SIP/2.0`);
    assert.deepEqual(headerLines(request.text, 'Route'), []);
    assert.match(headerLines(request.text, 'Via')[1]!, viaOf(edge));
  }
  assert.deepEqual(run.ended, ['remote-bye']);
});

test('Kamailio ×2: our BYE uses the route set — Request-URI the caller’s Contact, Route via core then edge (§12.2.1.1)', { skip, timeout: 60_000 }, async () => {
  const run = await kamailio('uac-proxied-remote-bye.xml', 'hangup');
  const { uas, core } = run.ports;
  const recordRoute = headerLines(find(run, 'core', 'sent-request', uas, /^INVITE /).text, 'Record-Route');
  assert.equal(run.code, 0, `sipp: ${run.stderr}`); // sipp checked: its Contact, three Vias, no Route left
  assert.deepEqual(run.infos, ['application/dtmf-relay 24']);
  const bye = find(run, 'core', 'received-request', uas, /^BYE /);
  assert.equal(startLine(bye), 'BYE sip:sipp@127.0.0.1:5070;transport=UDP SIP/2.0');
  // UAS route set = Record-Route in order (§12.1.1); first hop core, which removed its entry.
  assert.deepEqual(headerLines(bye.text, 'Route'), recordRoute.map((line) => line.replace(/^Record-Route:/, 'Route:')));
  const atEdge = find(run, 'edge', 'received-request', core, /^BYE /);
  assert.deepEqual(headerLines(atEdge.text, 'Route'), recordRoute.slice(1).map((line) => line.replace(/^Record-Route:/, 'Route:')));
  assert.deepEqual(headerLines(find(run, 'edge', 'sent-request', run.ports.sipp, /^BYE /).text, 'Route'), []);
  assert.match(headerLines(atEdge.text, 'Via')[0]!, viaOf(core));
  assert.deepEqual(run.ended, ['local-bye']);
});

test('Kamailio ×2: CANCEL goes hop by hop to us → 200 to the CANCEL, 487 to the INVITE (§16.10)', { skip, timeout: 60_000 }, async () => {
  // "ring" never answers, so the CANCEL always wins the race: nothing here depends on timing.
  const run = await kamailio('uac-cancel.xml', 'ring');
  const { uas, core } = run.ports;
  assert.equal(run.code, 0, `sipp: ${run.stderr}`);
  const invite = find(run, 'core', 'sent-request', uas, /^INVITE /);
  const vias = headerLines(invite.text, 'Via');
  // Kamailio builds its own CANCEL (tm, not traced); §9.1 has it carry the INVITE's top Via
  // alone, and our 200 copies the CANCEL's Vias, so it shows the CANCEL matched our INVITE
  // transaction through the proxy's branch.
  assert.deepEqual(headerLines(find(run, 'core', 'received-reply', uas, /^SIP\/2\.0 200 /, '1 CANCEL').text, 'Via'), vias.slice(0, 1));
  assert.deepEqual(headerLines(find(run, 'core', 'received-reply', uas, /^SIP\/2\.0 487 /, '1 INVITE').text, 'Via'), vias);
  assert.deepEqual(headerLines(find(run, 'edge', 'received-reply', core, /^SIP\/2\.0 487 /, '1 INVITE').text, 'Via'), vias.slice(1));
  assert.deepEqual(run.ended, ['cancel']);
});

test('Kamailio ×2 without record-routing: the caller reaches us directly, and our BYE goes to its Contact, not back to the proxy (§12.2.1.1, §8.1.2)', { skip, timeout: 60_000 }, async () => {
  const run = await kamailio('uac-unrouted-remote-bye.xml', 'hangup', 'no-record-route', ['-timeout', '10s']);
  const { uas } = run.ports;
  // The dialog has no route set: the caller's ACK and INFO came straight to us (setdest to our Contact).
  assert.deepEqual(headerLines(find(run, 'core', 'sent-request', uas, /^INVITE /).text, 'Record-Route'), []);
  assert.deepEqual(run.infos, ['application/dtmf-relay 24']);
  assert.ok(!run.traces.some((trace) => /^(ACK|INFO) /.test(startLine(trace))), 'caller in-dialog requests went through a proxy');
  // So must our BYE: no proxy ever sees it, and sipp checked it arrived with our Via alone.
  assert.deepEqual(run.traces.filter((trace) => /^BYE /.test(startLine(trace))).map((trace) => `${trace.proxy} ${trace.event} ${trace.peer}`), []);
  assert.equal(run.code, 0, `sipp: ${run.stderr}`);
  assert.deepEqual(run.ended, ['local-bye']);
});
