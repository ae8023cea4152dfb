// Runs a flow in-process against a scripted caller on a virtual clock, and returns a
// transcript: prompts played, keys consumed (secure keys as '•') and what the flow did.
//
// Caller script (`--keys`): comma-separated turns. Each turn starts when the flow next
// waits for input (its prompt has ended), or, when the turn starts with '>', as soon as
// the next prompt starts (barge-in). Inside a turn: keys 0-9 * # typed `gapMs` apart,
// `~N` waits N ms, `H` hangs up. An empty turn stays silent (the step times out).
// Example: "1,12345678#,,>0" = press 1; key a citation; stay silent once; barge in with 0.
import { DTMF_POUND, DTMF_STAR } from '../vault/types.ts';
import type { DtmfCode } from '../vault/types.ts';
import type { FlowEvent, FlowSettings } from './call-context.ts';
import type { Flow } from './define-flow.ts';
import type { BackendPort, CellPort, FlowLogger, PaymentPort, PlayItem } from './ports.ts';
import { runFlow, type FlowOutcome } from './runner.ts';
import { SimAudio, SimCallControl, SimKeys, VirtualClock, type SimRecord } from './sim-ports.ts';
import { cellPort } from './vault-cell-port.ts';
import { CellPool } from '../vault/cell-pool.ts';

export type CallerAction = { key: DtmfCode } | { waitMs: number } | { hangup: true };

export interface CallerTurn {
  /** 'armed': when the flow next waits for input; 'prompt': when the next prompt starts. */
  when: 'armed' | 'prompt';
  actions: CallerAction[];
}

export class ScriptError extends Error {
  readonly code = 'SIM_BAD_SCRIPT';
  constructor(message: string) {
    super(message);
    this.name = 'ScriptError';
  }
}

/** Parses the `--keys` syntax above. */
export function parseCallerScript(script: string): CallerTurn[] {
  if (script.trim() === '') return [];
  return script.split(',').map((raw) => {
    let text = raw.trim();
    let when: CallerTurn['when'] = 'armed';
    if (text.startsWith('>')) {
      when = 'prompt';
      text = text.slice(1);
    }
    const actions: CallerAction[] = [];
    for (let i = 0; i < text.length; i++) {
      const char = text[i]!;
      if (char >= '0' && char <= '9') actions.push({ key: Number(char) });
      else if (char === '*') actions.push({ key: DTMF_STAR });
      else if (char === '#') actions.push({ key: DTMF_POUND });
      else if (char === 'H' || char === 'h') actions.push({ hangup: true });
      else if (char === '~') {
        let digits = '';
        while (i + 1 < text.length && text[i + 1]! >= '0' && text[i + 1]! <= '9') digits += text[++i];
        if (digits === '') throw new ScriptError('~ must be followed by a number of milliseconds');
        actions.push({ waitMs: Number(digits) });
      } else if (char !== ' ') throw new ScriptError(`unexpected character '${char}' in the caller script`);
    }
    return { when, actions };
  });
}

export interface TranscriptLine {
  /** Virtual milliseconds since the call started. */
  at: number;
  kind: 'play' | 'key' | 'event';
  text: string;
}

export interface SimulationOptions {
  caller: string | CallerTurn[];
  /** A fake backend; the factory form gets the call's cell so it can return sensitive columns as Secrets. */
  backend?: BackendPort | ((cell: CellPort) => BackendPort);
  payment?: PaymentPort;
  settings?: Partial<FlowSettings>;
  /** Virtual length of one clip (default 1000 ms). */
  clipMs?: (clip: string) => number;
  /** Gap between keys inside a turn (default 200 ms). */
  gapMs?: number;
  /** The caller hangs up at this virtual time, whatever the flow is doing. */
  hangupAfterMs?: number;
  /** Safety stop on virtual time (default 30 minutes). */
  maxMs?: number;
  logger?: FlowLogger;
  /** The pool the call's cell comes from (default: a one-cell pool of its own); several simulated calls may share one. */
  pool?: CellPool;
}

export interface SimulationResult {
  outcome: FlowOutcome;
  transcript: TranscriptLine[];
  /** Clip references of every play list, in order (interrupted ones included). */
  played: string[][];
  /** Keys the caller pressed, secure ones as '•'. */
  keys: string[];
  transfers: Array<{ target: string; context: Record<string, string> }>;
  /** Every flow event, in order (what a server's call record is built from). */
  events: FlowEvent[];
  hangups: number;
  /** The cell's wipe at the end of the call. */
  wipe: { bytes: number; verified: boolean };
  /** Caller turns the flow never asked for. */
  unusedTurns: number;
  text(): string;
}

const silentLogger: FlowLogger = { info() {}, warn() {}, error() {}, debug() {} };

const unconfiguredBackend: BackendPort = {
  async query(backend) {
    throw new Error(`no backend ${backend} in this simulation`);
  },
};
const unconfiguredPayment: PaymentPort = {
  async charge() {
    return { approved: false, reason: 'unavailable' };
  },
};

function describe(items: readonly PlayItem[]): string {
  return items.map((item) => ('clip' in item ? item.clip : `(silence ${item.silenceMs}ms)`)).join(' ');
}

const IGNORED: Record<Extract<FlowEvent, { type: 'key.ignored' }>['reason'], string> = {
  'terminator-after-full-entry': 'terminator after a full entry',
  'no-barge-in': 'the prompt takes no keys (no barge-in)',
  'not-a-flow-key': 'not the agent or repeat key',
};

function describeEvent(event: FlowEvent): string | null {
  switch (event.type) {
    case 'backend':
      return `backend ${event.backend} ${event.operation}: ${event.outcome}${event.outcome === 'ok' ? ` (${event.rows} rows)` : ''}`;
    case 'payment':
      return `payment ${event.outcome}`;
    case 'transfer':
      return `transfer ${event.target} ${JSON.stringify(event.context)}`;
    case 'hangup':
      return 'hangup';
    case 'language':
      return `language ${event.language}`;
    case 'gather.done':
      return `${event.step} ${event.outcome} (${event.keys} keys)`;
    case 'log':
      return `log ${event.event}`;
    case 'key.ignored':
      return `key ignored: ${IGNORED[event.reason]}`;
    case 'play':
    case 'input.open':
    case 'input.armed':
      return null;
  }
}

/** Lets every promise chain the virtual clock has released settle before time moves on. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export async function simulate(flow: Flow, options: SimulationOptions): Promise<SimulationResult> {
  const clock = new VirtualClock();
  const transcript: TranscriptLine[] = [];
  const played: string[][] = [];
  const keys: string[] = [];
  const events: FlowEvent[] = [];
  const record = (entry: SimRecord): void => {
    if (entry.type === 'play') {
      if (entry.outcome !== 'done') transcript.push({ at: clock.now(), kind: 'event', text: `prompt ${entry.outcome}` });
    } else {
      keys.push(entry.key);
      transcript.push({ at: clock.now(), kind: 'key', text: entry.key });
    }
  };
  const audio = new SimAudio(clock, options.clipMs ?? (() => 1000), record);
  const keyPort = new SimKeys(audio, record);
  // A real pool: secure gathers use the locked arena and the call ends with its wipe.
  const pool = options.pool ?? new CellPool({ cells: 1, slotsPerCell: 64 });
  const cell = pool.acquire();
  if (!cell) throw new Error('the simulator could not take a cell');
  const control = new SimCallControl();
  const gapMs = options.gapMs ?? 200;
  const turns = typeof options.caller === 'string' ? parseCallerScript(options.caller) : [...options.caller];
  let typing = false;
  // An input wait that began while the caller was still typing the previous turn.
  let armedWhileTyping = false;

  const runTurn = (turn: CallerTurn): void => {
    typing = true;
    let delay = turn.when === 'prompt' ? gapMs : 0;
    for (const action of turn.actions) {
      if ('waitMs' in action) {
        delay += action.waitMs;
        continue;
      }
      clock.setTimer(delay, () => {
        if (control.hangupSignal.aborted) return;
        if ('hangup' in action) {
          transcript.push({ at: clock.now(), kind: 'event', text: 'caller hangs up' });
          control.callerHangsUp();
        } else keyPort.press(action.key);
      });
      delay += gapMs;
    }
    clock.setTimer(Math.max(0, delay - gapMs), () => {
      typing = false;
      const next = turns[0];
      if (armedWhileTyping && next?.when === 'armed') {
        armedWhileTyping = false;
        turns.shift();
        runTurn(next);
      }
    });
  };

  const observe = (event: FlowEvent): void => {
    events.push(event);
    if (event.type === 'play') {
      played.push(event.items.map((item) => ('clip' in item ? item.clip : `silence:${item.silenceMs}`)));
      transcript.push({ at: clock.now(), kind: 'play', text: describe(event.items) });
    }
    const text = describeEvent(event);
    if (text) transcript.push({ at: clock.now(), kind: 'event', text });
    const next = turns[0];
    if (event.type === 'gather.done') armedWhileTyping = false;
    if (!next) return;
    if (typing) {
      if (event.type === 'input.armed') armedWhileTyping = true;
      return;
    }
    if ((event.type === 'input.armed' && next.when === 'armed') || (event.type === 'play' && next.when === 'prompt')) {
      turns.shift();
      runTurn(next);
    }
  };

  let finished = false;
  let outcome: FlowOutcome | null = null;
  const cellView = cellPort(cell);
  const backend = typeof options.backend === 'function' ? options.backend(cellView) : options.backend;
  const running = runFlow(
    flow,
    {
      audio,
      keys: keyPort,
      cell: cellView,
      backend: backend ?? unconfiguredBackend,
      payment: options.payment ?? unconfiguredPayment,
      call: control,
      scheduler: clock,
      logger: options.logger ?? silentLogger,
    },
    options.settings,
    observe,
  ).then((result) => {
    finished = true;
    outcome = result;
  });

  if (options.hangupAfterMs !== undefined) {
    clock.setTimer(options.hangupAfterMs, () => {
      transcript.push({ at: clock.now(), kind: 'event', text: 'caller hangs up' });
      control.callerHangsUp();
    });
  }
  const maxMs = options.maxMs ?? 30 * 60 * 1000;
  while (!finished) {
    await settle();
    if (finished) break;
    const due = clock.nextDue();
    if (due === null || due > maxMs) {
      // Nothing left that could move the flow on (or the safety limit): the caller hangs up.
      transcript.push({ at: clock.now(), kind: 'event', text: due === null ? 'simulation stalled: caller hangs up' : 'time limit: caller hangs up' });
      control.callerHangsUp();
      await running;
      break;
    }
    clock.fireNext();
  }
  await running;
  const final = outcome as FlowOutcome | null;
  if (!final) throw new Error('flow runner ended without an outcome');
  const release = cell.release(final.status);
  if (!options.pool) pool.shutdown();
  const wipe = release ? release.wipe : { bytes: 0, verified: false };
  transcript.push({ at: clock.now(), kind: 'event', text: `outcome ${final.status}${final.fallback ? ' (fallback)' : ''}${final.error ? ` ${final.error}` : ''}` });

  return {
    outcome: final,
    transcript,
    played,
    keys,
    transfers: control.record.transfers,
    events,
    hangups: control.record.hangups,
    wipe,
    unusedTurns: turns.length,
    text: () => formatTranscript(transcript),
  };
}

export function formatTranscript(lines: readonly TranscriptLine[]): string {
  return lines
    .map((line) => {
      const seconds = (line.at / 1000).toFixed(3).padStart(8);
      const tag = line.kind === 'play' ? 'play ' : line.kind === 'key' ? 'key  ' : '---- ';
      return `[${seconds}] ${tag}${line.text}`;
    })
    .join('\n');
}
