// Shared set-up for RTP session tests: a real loopback socket pair from a pool, a fake-time clock,
// a frame source with recognisable frames, and a media input that copies what it is given.
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import type { FrameSource, G711Codec } from '../../src/media/frame-source.ts';
import { MediaClock } from '../../src/media/media-clock.ts';
import { PortPool } from '../../src/media/port-pool.ts';
import { bindRtpPorts, type BoundPorts, type SocketFactory } from '../../src/media/rtp-ports.ts';
import type { MediaInput } from '../../src/media/rtp-session.ts';
import { FakeTime } from './fake-time.ts';

/** Frames whose first two bytes count up, so tests can tell them apart; every 5th is the shared silence. */
export class CountingSource implements FrameSource {
  readonly silence = new Uint8Array(160).fill(0xff);
  pulled = 0;
  nextFrame(_codec: G711Codec): Uint8Array {
    this.pulled++;
    if (this.pulled % 5 === 0) return this.silence;
    const frame = new Uint8Array(160).fill(0x55);
    frame[0] = this.pulled >>> 8;
    frame[1] = this.pulled & 0xff;
    return frame;
  }
}

export class RecordingInput implements MediaInput {
  events: Array<{ payload: Buffer; timestamp: number; ssrc: number }> = [];
  audioFrames: Buffer[] = [];
  private waiters: Array<() => void> = [];

  telephoneEvent(payload: Uint8Array, rtpTimestamp: number, ssrc: number): void {
    this.events.push({ payload: Buffer.from(payload), timestamp: rtpTimestamp, ssrc });
    this.wake();
  }

  audio(payload: Uint8Array): void {
    this.audioFrames.push(Buffer.from(payload));
    this.wake();
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /** Resolves once `count` deliveries (events + audio) have happened in total. */
  async waitFor(count: number): Promise<void> {
    while (this.events.length + this.audioFrames.length < count) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
}

export async function peerSocket(): Promise<Socket & { port: number }> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return Object.assign(socket, { port: socket.address().port });
}

export function sendFrom(socket: Socket, bytes: Uint8Array, port: number): Promise<void> {
  return new Promise((resolve, reject) => socket.send(bytes, port, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
}

let nextRange = 40000 + (process.pid % 500) * 20;

export function freshPool(pairs = 4): PortPool {
  const min = nextRange;
  nextRange += pairs * 2 + 2;
  return new PortPool({ min, max: min + pairs * 2 - 1 });
}

export async function boundPorts(pool = freshPool(), socketFactory?: SocketFactory): Promise<BoundPorts> {
  const result = await bindRtpPorts(pool, '127.0.0.1', socketFactory ? { socketFactory } : {});
  if (!result.ok) throw new Error(`bind failed: ${result.error.code}`);
  return result.ports;
}

export function fakeClock(): { time: FakeTime; clock: MediaClock } {
  const time = new FakeTime();
  return { time, clock: new MediaClock({ timeSource: time }) };
}

/** Waits until `socket` has received `count` datagrams, returning copies. */
export function collect(socket: Socket, count: number): Promise<Buffer[]> {
  const got: Buffer[] = [];
  return new Promise((resolve) => {
    const onMessage = (message: Buffer) => {
      got.push(Buffer.from(message));
      if (got.length === count) {
        socket.off('message', onMessage);
        resolve(got);
      }
    };
    socket.on('message', onMessage);
  });
}
