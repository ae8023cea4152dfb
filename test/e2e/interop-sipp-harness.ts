// Runs inside a loopback-only network namespace (sipp binds a wildcard control socket): the real
// server (`traceless start`, interop-server.ts) and one sipp call over UDP whose scenario is built
// here from a key script: SIP INFO bodies, sipp's own RFC 4733 generator (play_dtmf), and pauses
// between presses, in order. The call ends when the server hangs up. Prints one JSON line.
//   interop-sipp-harness.ts '<SippRun as JSON>'
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIALLED, InteropServer, SIP_PORT, type ServerEvent } from './interop-server.ts';

export type KeyStep =
  /**
   * One INFO request carrying one key (RFC 2976 INFO; bodies as SIP trunks send them), answered
   * with `expect` (200 unless given: 415 for a body type we do not take, 400 for one that does not parse).
   */
  | { info: string; key: string; expect?: 200 | 400 | 415 }
  /** sipp's play_dtmf: RFC 4733 events at payload type 96 from a stream of their own (async). */
  | { rfc4733: string }
  /** The caller's pause between presses. */
  | { pauseMs: number };

export interface SippRun {
  /** The flow's entries (digits + terminator), as the caller means to key them. */
  entries: string[];
  script: KeyStep[];
}

export interface SippRunReport {
  sippExit: number | null;
  sippStderr: string;
  server: ServerEvent[];
  serverStderr: string;
  serverExit: number | null;
}

const SIPP_TIMEOUT = '30s';
const run = JSON.parse(process.argv[2] ?? '{}') as SippRun;

const INVITE = `
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=sipp 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 96
      a=rtpmap:0 PCMU/8000
      a=rtpmap:96 telephone-event/8000
      a=fmtp:96 0-16
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="200" rrs="true"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>`;

// The flow hangs up when it is done (or has failed): BYE from the server ends the scenario.
const BYE = `
  <recv request="BYE"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>`;

function info({ info: contentType, key, expect = 200 }: { info: string; key: string; expect?: number }, cseq: number): string {
  const body = contentType === 'application/dtmf-relay' ? `Signal=${key}\n      Duration=160` : key;
  return `
  <send retrans="500">
    <![CDATA[
      INFO [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: ${cseq} INFO
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Type: ${contentType}
      Content-Length: [len]

      ${body}
    ]]>
  </send>
  <recv response="${expect}"/>`;
}

function scenario(): string {
  let cseq = 1;
  const steps = run.script.map((step) => {
    if ('info' in step) return info(step, ++cseq);
    if ('rfc4733' in step) return `\n  <nop><action><exec play_dtmf="${step.rfc4733}"/></action></nop>`;
    return `\n  <pause milliseconds="${step.pauseMs}"/>`;
  });
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>\n<!DOCTYPE scenario SYSTEM "sipp.dtd">\n<scenario name="traceless interop keys">${INVITE}${steps.join('')}${BYE}\n</scenario>\n`;
}

const dir = mkdtempSync(join(tmpdir(), 'traceless-e2e-sipp-'));
let server: InteropServer | undefined;
try {
  server = await InteropServer.start({ dir, entries: run.entries });
  const file = join(dir, 'scenario.xml');
  writeFileSync(file, scenario());
  const sipp = spawn(
    'sipp',
    [`127.0.0.1:${SIP_PORT}`, '-sf', file, '-s', DIALLED, '-t', 'u1', '-i', '127.0.0.1', '-p', '5070', '-mi', '127.0.0.1', '-mp', '30000',
      '-m', '1', '-nostdin', '-timeout', SIPP_TIMEOUT, '-timeout_error'],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  sipp.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // sipp's own -timeout bounds the call; its exit is the end of the caller's side.
  const [code] = (await once(sipp, 'exit')) as [number | null];
  const start = await server.waitFor((e) => e.event === 'call.start', 'call.start');
  await server.waitFor((e) => e.callId === start.callId && e.event === 'cdr', 'call record');
  await server.stop();
  const report: SippRunReport = {
    sippExit: code,
    sippStderr: stderr.slice(-1500),
    server: server.callEvents(String(start.callId)),
    serverStderr: server.stderr.slice(-1500),
    serverExit: server.exitCode,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
} finally {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
}
