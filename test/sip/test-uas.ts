// The small UAS the interop harnesses run: answers with a fixed SDP; the dialled number picks a
// behaviour ("ring" never answers, "hangup" hangs up when an INFO arrives), re-offers are answered.
import { SipServer } from '../../src/sip/sip-server.ts';
import type { SipServerConfig } from '../../src/sip/sip-server.ts';
import type { EndCause } from '../../src/sip/incoming-call.ts';

export const UAS_SDP =
  'v=0\r\no=traceless 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n';

export interface UasReport {
  calls: Array<{ callId: string; dialled: string; transport: string; offer: boolean }>;
  ended: EndCause[];
  reinvites: number;
  infos: string[];
}

export async function startTestUas(listeners: Pick<SipServerConfig, 'udp' | 'tcp' | 'tls'>) {
  const report: UasReport = { calls: [], ended: [], reinvites: 0, infos: [] };
  const pending = new Set<Promise<unknown>>();
  const server = await SipServer.start({
    ...listeners,
    onCall: (call) => {
      report.calls.push({ callId: call.callId, dialled: call.dialled, transport: call.transport, offer: /m=audio \d+ RTP\/AVP/.test(call.remoteSdp) });
      pending.add(new Promise((resolve) => call.once('ended', resolve)));
      call.on('ended', (cause) => report.ended.push(cause));
      call.on('reinvite', (offer) => {
        report.reinvites++;
        offer.answer(UAS_SDP);
      });
      call.on('info', (info) => {
        report.infos.push(`${info.contentType} ${info.body.length}`);
        // After the INFO is answered (the stack answers once listeners have had their say).
        if (call.dialled === 'hangup') queueMicrotask(() => call.hangup());
      });
      if (call.dialled !== 'ring') call.accept(UAS_SDP);
    },
  });
  /** Resolves once every call seen so far has ended (the peer may exit before we processed its last message). */
  const settled = () => Promise.all(pending);
  return { server, report, settled };
}
