// The project's own test caller: a small SIP UAC (RFC 3261) with an RTP endpoint (RFC 3550)
// that keys RFC 4733 telephone-events, for end-to-end tests against a running Traceless.
// It is built on the project's own SIP parser/serializer/header helpers and RTP/DTMF
// writers, so what it sends is what the stack itself would send. Everything it does is
// exposed as promises and events; nothing in it sleeps to synchronise.
//
//  - INVITE over UDP (Timer A retransmission, §17.1.1.2) or TCP (StreamFramer, §18.3) with an
//    SDP offer: PCMU/8000 + telephone-event/8000 (PT 101), sendrecv, our own RTP socket.
//  - 2xx → ACK (a new transaction, §13.2.2.4, re-sent for every retransmitted 2xx);
//    ≥ 300 → ACK in the INVITE transaction (§17.1.1.3).
//  - Media: a silence frame every 20 ms while the call is up; keys as RFC 4733 events that
//    share the stream's sequence numbers and clock (§2.5.1: marker on the first packet,
//    one timestamp for the whole event, the end packet three times).
//  - In the dialog: BYE → 200; REFER → 202, then NOTIFY (Event: refer, sipfrag 200 OK,
//    RFC 3515 §2.4.4) as our own in-dialog request. We can send BYE and CANCEL ourselves.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket as TcpSocket } from 'node:net';
import { EventEmitter, once } from 'node:events';
import { randomBytes, randomInt } from 'node:crypto';
import * as sdpTransform from 'sdp-transform';
import type { HeaderField, SipMessage, SipRequest, SipResponse } from '../../src/sip/message.ts';
import { parseMessage } from '../../src/sip/parser.ts';
import { buildResponse, serializeMessage } from '../../src/sip/serializer.ts';
import { firstHeader, headerValues, parseCSeq, parseNameAddr, parseVia, toTag } from '../../src/sip/headers.ts';
import { StreamFramer } from '../../src/sip/stream-framer.ts';
import { parseRtp, writeRtpHeader, RTP_FIXED_HEADER_BYTES } from '../../src/media/rtp-packet.ts';
import { DtmfSender, TELEPHONE_EVENT_BYTES } from '../../src/media/dtmf-sender.ts';
import { SILENCE_BYTE } from '../../src/media/g711.ts';
import { DTMF_POUND, DTMF_STAR, type DtmfCode } from '../../src/vault/types.ts';

const HOST = '127.0.0.1';
const PCMU = 0;
const TELEPHONE_EVENT = 101;
const FRAME_MS = 20;
const SAMPLES_PER_FRAME = 160;
/** Silence frames between two keys (a 40 ms pause, as Q.24 asks of a keypad). */
const GAP_FRAMES = 2;
const T1 = 500;
const TIMER_B = 64 * T1;

export type SipTransportKind = 'udp' | 'tcp';

export interface TestCallerOptions {
  /** Where the IVR listens. */
  port: number;
  host?: string;
  transport?: SipTransportKind;
  /** Request-URI user part (the dialled number). */
  dialled?: string;
  /** From user part (the caller's number). */
  caller?: string;
}

export interface Answer {
  status: number;
  /** The IVR's RTP address from its SDP answer. */
  rtp: { address: string; port: number };
  /** Payload types the answer kept. */
  payloadTypes: number[];
  sdp: string;
}

export interface ReferReceived {
  referTo: string;
  /** X-Traceless-Context as received ('' when absent). */
  context: string;
  referredBy: string;
  request: SipRequest;
  /** Final status of the NOTIFY we sent for it (the IVR answers 481 if it is not in the dialog). */
  notified: Promise<number>;
}

export interface TestCallEvents {
  provisional: [status: number];
  /** A request the IVR sent in the dialog (after we answered it). */
  request: [request: SipRequest];
  bye: [request: SipRequest];
  refer: [refer: ReferReceived];
  /** The dialog and media are gone (either side ended the call, or it failed). */
  ended: [how: 'remote-bye' | 'local-bye' | 'failed' | 'cancelled'];
}

interface Pending {
  resolve: (response: SipResponse) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

const KEY_CODES: Record<string, DtmfCode> = { '*': DTMF_STAR, '#': DTMF_POUND };

function keyCode(key: string): DtmfCode {
  const code = KEY_CODES[key] ?? (key >= '0' && key <= '9' ? Number(key) : undefined);
  if (code === undefined) throw new RangeError(`not a keypad key: ${key}`);
  return code;
}

const token = (bytes = 8): string => randomBytes(bytes).toString('hex');

/** The SIP side as one send/receive channel over UDP or a TCP connection. */
interface SipChannel {
  readonly localPort: number;
  send(message: SipMessage): void;
  close(): void;
}

async function openUdp(host: string, port: number, onMessage: (message: SipMessage) => void): Promise<SipChannel> {
  const socket: UdpSocket = createSocket('udp4');
  socket.on('message', (bytes, from) => {
    if (from.address !== host || from.port !== port) return;
    const parsed = parseMessage(bytes);
    if (parsed.ok) onMessage(parsed.message);
  });
  socket.bind(0, HOST);
  await once(socket, 'listening');
  return {
    localPort: socket.address().port,
    send: (message) => socket.send(serializeMessage(message), port, host),
    close: () => socket.close(),
  };
}

async function openTcp(host: string, port: number, onMessage: (message: SipMessage) => void): Promise<SipChannel> {
  const socket: TcpSocket = connect({ host, port, localAddress: HOST });
  await once(socket, 'connect');
  const framer = new StreamFramer();
  socket.on('data', (chunk: Buffer) => {
    const out = framer.push(chunk);
    for (const bytes of out.messages) {
      const parsed = parseMessage(bytes, undefined, 'stream');
      if (parsed.ok) onMessage(parsed.message);
    }
    if (out.error) socket.destroy();
  });
  socket.on('error', () => undefined);
  return {
    localPort: socket.localPort!,
    send: (message) => {
      if (!socket.destroyed) socket.write(serializeMessage(message));
    },
    close: () => {
      socket.end();
      framer.close();
    },
  };
}

export class TestCall extends EventEmitter<TestCallEvents> {
  /** Statuses of the provisional responses seen, in order. */
  readonly provisionals: number[] = [];
  /** In-dialog requests the IVR sent, in order (BYE, REFER, …). */
  readonly received: SipRequest[] = [];
  readonly refers: ReferReceived[] = [];
  /** RTP packets received from the IVR. */
  rtpReceived = 0;
  /** RFC 4733 packets sent. */
  dtmfPacketsSent = 0;
  /** The final response to the INVITE (2xx or failure). */
  readonly answered: Promise<Answer>;
  /** Settles when the call is over, with how it ended. */
  readonly ended: Promise<TestCallEvents['ended'][0]>;
  /** The first REFER the IVR sent (after we accepted it and sent our NOTIFY). */
  readonly referred: Promise<ReferReceived>;

  readonly callId = `${token()}@${HOST}`;
  readonly #fromTag = token(4);
  readonly #inviteBranch = `z9hG4bK${token()}`;
  readonly #options: Required<TestCallerOptions>;
  #sip!: SipChannel;
  #rtp!: UdpSocket;
  #invite!: SipRequest;
  #cseq = 1;
  #remoteTag: string | undefined;
  #remoteTarget: string | undefined;
  #routeSet: string[] = [];
  #confirmed = false;
  #over = false;
  readonly #pending = new Map<string, Pending>();
  #inviteTimer: NodeJS.Timeout | undefined;
  #inviteSettled = false;
  #resolveAnswer!: (answer: Answer) => void;
  #rejectAnswer!: (error: Error) => void;
  // Media clock state.
  #mediaTimer: NodeJS.Timeout | undefined;
  #remoteRtp: { address: string; port: number } | undefined;
  readonly #ssrc = randomInt(1, 0xffffffff);
  #seq = randomInt(0, 0xffff);
  #timestamp = randomInt(0, 0xffffffff);
  readonly #frame = Buffer.alloc(RTP_FIXED_HEADER_BYTES + SAMPLES_PER_FRAME);
  readonly #dtmfFrame = Buffer.alloc(RTP_FIXED_HEADER_BYTES + TELEPHONE_EVENT_BYTES);
  readonly #dtmf = new DtmfSender();
  #eventTimestamp = 0;
  #keyQueue: Array<{ code: DtmfCode; done?: { resolve: () => void; reject: (error: Error) => void } }> = [];
  #gapLeft = 0;

  private constructor(options: TestCallerOptions) {
    super();
    this.#options = {
      host: HOST,
      transport: 'udp',
      dialled: '3115550100',
      caller: '+15550001234',
      ...options,
    };
    this.#frame.fill(SILENCE_BYTE.PCMU, RTP_FIXED_HEADER_BYTES);
    this.answered = new Promise<Answer>((resolve, reject) => {
      this.#resolveAnswer = resolve;
      this.#rejectAnswer = reject;
    });
    this.answered.catch(() => undefined);
    this.ended = new Promise((resolve) => this.once('ended', resolve));
    this.referred = new Promise((resolve) => this.once('refer', resolve));
  }

  /** Opens the sockets and sends the INVITE; await `answered` for the outcome. */
  static async dial(options: TestCallerOptions): Promise<TestCall> {
    const call = new TestCall(options);
    await call.#start();
    return call;
  }

  get transport(): SipTransportKind {
    return this.#options.transport;
  }

  get rtpPort(): number {
    return this.#rtp.address().port;
  }

  async #start(): Promise<void> {
    const { host, port, transport } = this.#options;
    this.#rtp = createSocket('udp4');
    this.#rtp.on('message', (bytes, from) => {
      if (this.#remoteRtp && (from.address !== this.#remoteRtp.address || from.port !== this.#remoteRtp.port)) return;
      if (parseRtp(bytes).ok) this.rtpReceived++;
    });
    this.#rtp.bind(0, HOST);
    await once(this.#rtp, 'listening');
    const onMessage = (message: SipMessage): void => this.#onMessage(message);
    this.#sip = transport === 'udp' ? await openUdp(host, port, onMessage) : await openTcp(host, port, onMessage);
    this.#invite = this.#buildInvite();
    this.#sip.send(this.#invite);
    if (transport === 'udp') this.#retransmitInvite(T1);
  }

  #via(branch: string): HeaderField {
    const transport = this.#options.transport.toUpperCase();
    return { name: 'Via', value: `SIP/2.0/${transport} ${HOST}:${this.#sip.localPort};branch=${branch};rport` };
  }

  get #contact(): string {
    const params = this.#options.transport === 'tcp' ? ';transport=tcp' : '';
    return `<sip:${this.#options.caller}@${HOST}:${this.#sip.localPort}${params}>`;
  }

  get #from(): string {
    return `<sip:${this.#options.caller}@${HOST}>;tag=${this.#fromTag}`;
  }

  get #requestUri(): string {
    const params = this.#options.transport === 'tcp' ? ';transport=tcp' : '';
    return `sip:${this.#options.dialled}@${this.#options.host}:${this.#options.port}${params}`;
  }

  #offer(): string {
    return [
      'v=0',
      `o=- ${randomInt(1, 2 ** 31)} 1 IN IP4 ${HOST}`,
      's=traceless test caller',
      `c=IN IP4 ${HOST}`,
      't=0 0',
      `m=audio ${this.rtpPort} RTP/AVP ${PCMU} ${TELEPHONE_EVENT}`,
      `a=rtpmap:${PCMU} PCMU/8000`,
      `a=rtpmap:${TELEPHONE_EVENT} telephone-event/8000`,
      `a=fmtp:${TELEPHONE_EVENT} 0-15`,
      'a=ptime:20',
      'a=sendrecv',
      '',
    ].join('\r\n');
  }

  #buildInvite(): SipRequest {
    return {
      kind: 'request',
      method: 'INVITE',
      uri: this.#requestUri,
      headers: [
        this.#via(this.#inviteBranch),
        { name: 'Max-Forwards', value: '70' },
        { name: 'From', value: this.#from },
        { name: 'To', value: `<sip:${this.#options.dialled}@${this.#options.host}>` },
        { name: 'Call-ID', value: this.callId },
        { name: 'CSeq', value: '1 INVITE' },
        { name: 'Contact', value: this.#contact },
        { name: 'Allow', value: 'INVITE, ACK, BYE, CANCEL, OPTIONS, REFER, NOTIFY' },
        { name: 'Content-Type', value: 'application/sdp' },
      ],
      body: Buffer.from(this.#offer(), 'utf8'),
    };
  }

  /** Timer A (§17.1.1.2): resend until any response arrives; Timer B gives up. */
  #retransmitInvite(interval: number, elapsed = 0): void {
    this.#inviteTimer = setTimeout(() => {
      if (this.#inviteSettled || this.#over) return;
      if (elapsed + interval >= TIMER_B) {
        this.#fail(new Error('INVITE timed out (Timer B)'));
        return;
      }
      this.#sip.send(this.#invite);
      this.#retransmitInvite(interval * 2, elapsed + interval);
    }, interval);
  }

  #onMessage(message: SipMessage): void {
    if (message.kind === 'response') this.#onResponse(message);
    else this.#onRequest(message);
  }

  #onResponse(response: SipResponse): void {
    const branch = parseVia(firstHeader(response, 'Via') ?? '')?.branch ?? '';
    const cseq = parseCSeq(firstHeader(response, 'CSeq') ?? '');
    if (!cseq) return;
    if (cseq.method === 'INVITE' && branch === this.#inviteBranch) {
      this.#onInviteResponse(response);
      return;
    }
    const pending = this.#pending.get(`${branch} ${cseq.method}`);
    if (!pending || response.status < 200) return;
    this.#pending.delete(`${branch} ${cseq.method}`);
    if (pending.timer) clearTimeout(pending.timer);
    pending.resolve(response);
  }

  #onInviteResponse(response: SipResponse): void {
    this.#inviteSettled = true;
    if (this.#inviteTimer) clearTimeout(this.#inviteTimer);
    if (response.status < 200) {
      this.provisionals.push(response.status);
      this.emit('provisional', response.status);
      return;
    }
    if (response.status >= 300) {
      // §17.1.1.3: the ACK for a failure belongs to the INVITE transaction (same branch).
      this.#sip.send(this.#ackFor(response, this.#inviteBranch, this.#requestUri, []));
      this.#fail(new Error(`INVITE failed: ${response.status} ${response.reason}`), response.status === 487 ? 'cancelled' : 'failed');
      return;
    }
    if (!this.#confirmed) {
      this.#remoteTag = toTag(response);
      const contact = parseNameAddr(firstHeader(response, 'Contact') ?? '');
      this.#remoteTarget = contact?.uri ?? this.#requestUri;
      // §12.1.2: the route set is the Record-Route list in reverse.
      this.#routeSet = headerValues(response, 'Record-Route').reverse();
    }
    // §13.2.2.4: every 2xx (retransmissions too) is ACKed, in a transaction of its own.
    this.#sip.send(this.#ackFor(response, `z9hG4bK${token()}`, this.#remoteTarget!, this.#routeSet));
    if (this.#confirmed) return;
    this.#confirmed = true;
    const sdp = response.body.toString('utf8');
    const parsed = sdpTransform.parse(sdp);
    const audio = parsed.media.find((m) => m.type === 'audio');
    const address = audio?.connection?.ip ?? parsed.connection?.ip ?? '';
    if (!audio || !address || !audio.port) {
      this.#fail(new Error('200 OK without a usable SDP answer'));
      return;
    }
    this.#remoteRtp = { address, port: audio.port };
    this.#startMedia();
    this.#resolveAnswer({
      status: response.status,
      rtp: this.#remoteRtp,
      payloadTypes: String(audio.payloads ?? '').split(' ').filter(Boolean).map(Number),
      sdp,
    });
  }

  #ackFor(response: SipResponse, branch: string, uri: string, routes: string[]): SipRequest {
    return {
      kind: 'request',
      method: 'ACK',
      uri,
      headers: [
        this.#via(branch),
        { name: 'Max-Forwards', value: '70' },
        ...routes.map((value) => ({ name: 'Route', value })),
        { name: 'From', value: this.#from },
        { name: 'To', value: firstHeader(response, 'To') ?? '' },
        { name: 'Call-ID', value: this.callId },
        { name: 'CSeq', value: '1 ACK' },
      ],
      body: Buffer.alloc(0),
    };
  }

  #onRequest(request: SipRequest): void {
    if (request.method === 'ACK') return;
    const inDialog = (firstHeader(request, 'Call-ID') ?? '') === this.callId;
    if (!inDialog) {
      this.#sip.send(buildResponse(request, 481, 'Call/Transaction Does Not Exist'));
      return;
    }
    this.received.push(request);
    switch (request.method) {
      case 'BYE':
        this.#sip.send(buildResponse(request, 200, 'OK'));
        this.emit('request', request);
        this.emit('bye', request);
        this.#end('remote-bye');
        return;
      case 'REFER': {
        this.#sip.send(buildResponse(request, 202, 'Accepted', [{ name: 'Contact', value: this.#contact }]));
        // RFC 3515 §2.4.4: the transfer's outcome, as a sipfrag, ends the implicit subscription.
        const notified = this.#sendInDialog('NOTIFY', [
          { name: 'Event', value: 'refer' },
          { name: 'Subscription-State', value: 'terminated;reason=noresource' },
          { name: 'Content-Type', value: 'message/sipfrag' },
        ], Buffer.from('SIP/2.0 200 OK\r\n', 'utf8')).then((response) => response.status);
        notified.catch(() => undefined);
        const refer: ReferReceived = {
          referTo: firstHeader(request, 'Refer-To') ?? '',
          context: firstHeader(request, 'X-Traceless-Context') ?? '',
          referredBy: firstHeader(request, 'Referred-By') ?? '',
          request,
          notified,
        };
        this.refers.push(refer);
        this.emit('request', request);
        this.emit('refer', refer);
        return;
      }
      default:
        this.#sip.send(buildResponse(request, 200, 'OK'));
        this.emit('request', request);
    }
  }

  /** An in-dialog request of ours (§12.2.1.1); resolves with its final response. */
  #sendInDialog(method: string, extra: HeaderField[] = [], body: Buffer = Buffer.alloc(0)): Promise<SipResponse> {
    if (!this.#confirmed || this.#remoteTarget === undefined) return Promise.reject(new Error(`no dialog for ${method}`));
    const branch = `z9hG4bK${token()}`;
    const request: SipRequest = {
      kind: 'request',
      method,
      uri: this.#remoteTarget,
      headers: [
        this.#via(branch),
        { name: 'Max-Forwards', value: '70' },
        ...this.#routeSet.map((value) => ({ name: 'Route', value })),
        { name: 'From', value: this.#from },
        { name: 'To', value: `<sip:${this.#options.dialled}@${this.#options.host}>;tag=${this.#remoteTag ?? ''}` },
        { name: 'Call-ID', value: this.callId },
        { name: 'CSeq', value: `${++this.#cseq} ${method}` },
        { name: 'Contact', value: this.#contact },
        ...extra,
      ],
      body,
    };
    return this.#sendTransaction(request, `${branch} ${method}`);
  }

  /** Non-INVITE client transaction (§17.1.2): Timer E resends over UDP, Timer F gives up. */
  #sendTransaction(request: SipRequest, key: string): Promise<SipResponse> {
    return new Promise((resolve, reject) => {
      const pending: Pending = { resolve, reject, timer: undefined };
      this.#pending.set(key, pending);
      let elapsed = 0;
      const resend = (interval: number): void => {
        pending.timer = setTimeout(() => {
          elapsed += interval;
          if (elapsed >= TIMER_B) {
            this.#pending.delete(key);
            reject(new Error(`${request.method} timed out (Timer F)`));
            return;
          }
          this.#sip.send(request);
          resend(Math.min(interval * 2, 4000));
        }, interval);
      };
      this.#sip.send(request);
      if (this.#options.transport === 'udp') resend(T1);
    });
  }

  /** Hangs up with BYE; resolves with the IVR's final response status. */
  async hangup(): Promise<number> {
    if (this.#over) throw new Error('the call is already over');
    const response = this.#sendInDialog('BYE');
    this.#stopMedia();
    const status = (await response).status;
    this.#end('local-bye');
    return status;
  }

  /** CANCELs the unanswered INVITE (§9.1); resolves with the CANCEL's final response status. */
  async cancel(): Promise<number> {
    const request: SipRequest = {
      kind: 'request',
      method: 'CANCEL',
      uri: this.#invite.uri,
      headers: [
        this.#via(this.#inviteBranch),
        { name: 'Max-Forwards', value: '70' },
        { name: 'From', value: this.#from },
        { name: 'To', value: firstHeader(this.#invite, 'To') ?? '' },
        { name: 'Call-ID', value: this.callId },
        { name: 'CSeq', value: '1 CANCEL' },
      ],
      body: Buffer.alloc(0),
    };
    return (await this.#sendTransaction(request, `${this.#inviteBranch} CANCEL`)).status;
  }

  /** Stops sending RTP but keeps the dialog: a dead media path, for the IVR's inactivity timer. */
  stopMedia(): void {
    this.#stopMedia();
  }

  /**
   * Keys the given digits (0-9, *, #) as RFC 4733 events in the media stream; resolves once
   * every packet of the last key has been sent.
   */
  sendKeys(keys: string): Promise<void> {
    if (!this.#mediaTimer) return Promise.reject(new Error('no media: the call is not up'));
    const codes = [...keys].map(keyCode);
    if (codes.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      codes.forEach((code, i) => this.#keyQueue.push(i === codes.length - 1 ? { code, done: { resolve, reject } } : { code }));
    });
  }

  #startMedia(): void {
    this.#mediaTimer = setInterval(() => this.#tick(), FRAME_MS);
  }

  #stopMedia(): void {
    if (this.#mediaTimer) clearInterval(this.#mediaTimer);
    this.#mediaTimer = undefined;
    // Keys still queued will never be sent: say so instead of leaving their promise pending.
    for (const key of this.#keyQueue.splice(0)) key.done?.reject(new Error('the call ended before the keys were sent'));
  }

  /** One 20 ms tick of our media clock: the next event packet, or a frame of silence. */
  #tick(): void {
    const remote = this.#remoteRtp;
    if (!remote) return;
    let packet = this.#dtmf.nextPacket();
    if (!packet && this.#gapLeft === 0 && this.#keyQueue.length > 0) {
      this.#dtmf.start(this.#keyQueue[0]!.code);
      this.#eventTimestamp = this.#timestamp;
      packet = this.#dtmf.nextPacket();
    }
    if (packet) {
      writeRtpHeader(this.#dtmfFrame, {
        marker: packet.marker,
        payloadType: TELEPHONE_EVENT,
        sequenceNumber: this.#seq,
        timestamp: this.#eventTimestamp,
        ssrc: this.#ssrc,
      });
      this.#dtmfFrame.set(packet.payload, RTP_FIXED_HEADER_BYTES);
      this.#rtp.send(this.#dtmfFrame, remote.port, remote.address);
      this.dtmfPacketsSent++;
      if (!this.#dtmf.busy) {
        this.#keyQueue.shift()?.done?.resolve();
        this.#gapLeft = GAP_FRAMES;
      }
    } else {
      if (this.#gapLeft > 0) this.#gapLeft--;
      writeRtpHeader(this.#frame, {
        marker: false,
        payloadType: PCMU,
        sequenceNumber: this.#seq,
        timestamp: this.#timestamp,
        ssrc: this.#ssrc,
      });
      this.#rtp.send(this.#frame, remote.port, remote.address);
    }
    this.#seq = (this.#seq + 1) & 0xffff;
    this.#timestamp = (this.#timestamp + SAMPLES_PER_FRAME) >>> 0;
  }

  #fail(error: Error, how: 'failed' | 'cancelled' = 'failed'): void {
    this.#rejectAnswer(error);
    this.#end(how);
  }

  #end(how: TestCallEvents['ended'][0]): void {
    if (this.#over) return;
    this.#over = true;
    this.#stopMedia();
    if (this.#inviteTimer) clearTimeout(this.#inviteTimer);
    this.emit('ended', how);
  }

  /** Stops the media, the pending transactions and both sockets; safe to call twice. */
  close(): void {
    this.#end('failed');
    for (const [key, pending] of this.#pending) {
      if (pending.timer) clearTimeout(pending.timer);
      pending.reject(new Error('test caller closed'));
      this.#pending.delete(key);
    }
    try {
      this.#sip?.close();
    } catch {
      // already closed
    }
    try {
      this.#rtp?.close();
    } catch {
      // already closed
    }
  }
}
