// A client for baresip's ctrl_tcp module: commands in, responses and call events out, each a
// netstring-framed JSON object (`<length>:<json>,`). The interop harness uses it to wait for
// CALL_ESTABLISHED / CALL_CLOSED instead of guessing with timers, and to send keys (sndcode).
// Every wait is bounded, and all of them fail at once if the connection closes.
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';

export interface BaresipEvent {
  type: string;
  param?: string;
}

const WAIT_TIMEOUT_MS = 30_000;

interface Pending {
  /** Takes an incoming message; true when it settled this wait. */
  offer(message: Message): boolean;
  fail(error: Error): void;
}

interface Message {
  event?: boolean;
  type?: string;
  param?: string;
  response?: boolean;
  ok?: boolean;
  token?: string;
}

export class BaresipControl {
  readonly events: BaresipEvent[] = [];
  readonly #socket: Socket;
  #buffer = Buffer.alloc(0);
  #token = 0;
  readonly #pending = new Set<Pending>();

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('close', () => this.#failAll(new Error('baresip closed the ctrl_tcp connection')));
    socket.on('error', () => {}); // 'close' follows and fails what is pending
  }

  /** Connects to ctrl_tcp (open once baresip has printed "baresip is ready."). */
  static async connect(port: number): Promise<BaresipControl> {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    return new BaresipControl(socket);
  }

  #onData(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      const colon = this.#buffer.indexOf(0x3a);
      if (colon < 0) return;
      const length = Number(this.#buffer.subarray(0, colon).toString('latin1'));
      if (this.#buffer.length < colon + 1 + length + 1) return;
      const message = JSON.parse(this.#buffer.subarray(colon + 1, colon + 1 + length).toString('utf8')) as Message;
      this.#buffer = this.#buffer.subarray(colon + 2 + length);
      if (message.event && message.type) this.events.push({ type: message.type, ...(message.param === undefined ? {} : { param: message.param }) });
      for (const pending of this.#pending) if (pending.offer(message)) this.#pending.delete(pending);
    }
  }

  #failAll(error: Error): void {
    for (const pending of this.#pending) pending.fail(error);
    this.#pending.clear();
  }

  /** A bounded wait that the next message satisfying `accept` settles. */
  #wait<T>(what: string, accept: (message: Message) => T | undefined, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const pending: Pending = {
        offer(message) {
          const value = accept(message);
          if (value === undefined) return false;
          clearTimeout(timer);
          resolve(value);
          return true;
        },
        fail(error) {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.#pending.delete(pending);
        reject(new Error(`no ${what} from baresip within ${timeoutMs} ms; events: ${this.events.map((e) => e.type).join(', ')}`));
      }, timeoutMs);
      this.#pending.add(pending);
    });
  }

  /** Runs a long command (e.g. `dial`, `sndcode`, `quit`); resolves with baresip's ok flag. */
  command(command: string, params?: string, timeoutMs = WAIT_TIMEOUT_MS): Promise<boolean> {
    const token = String(++this.#token);
    const json = JSON.stringify({ command, ...(params === undefined ? {} : { params }), token });
    const answered = this.#wait(`response to ${command}`, (m) => (m.response && m.token === token ? m.ok === true : undefined), timeoutMs);
    this.#socket.write(`${Buffer.byteLength(json)}:${json},`);
    return answered;
  }

  /** The first event of one of these types, already seen or still to come. */
  waitFor(types: readonly string[], timeoutMs = WAIT_TIMEOUT_MS): Promise<BaresipEvent> {
    const seen = this.events.find((event) => types.includes(event.type));
    if (seen) return Promise.resolve(seen);
    return this.#wait(types.join(' or '), (m) => (m.event && m.type && types.includes(m.type) ? this.events.at(-1) : undefined), timeoutMs);
  }

  /** Closes the connection; anything still waiting fails. Safe to call twice. */
  close(): void {
    this.#socket.destroy();
    this.#failAll(new Error('ctrl_tcp client closed'));
  }
}
