// Runs inside a loopback-only network namespace (test/sip/loopback-namespace.ts), because sipp's
// control socket and baresip's sockets bind the wildcard address: a minimal UAS whose media is a
// real CallMedia on the real media clock, and one peer call. Prints what it saw as one JSON line.
//   interop-harness.ts sipp <scenario.xml>     interop-harness.ts baresip
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CallMedia, type CallMediaStats } from '../../src/media/call-media.ts';
import { MediaClock } from '../../src/media/media-clock.ts';
import { miniUas } from './mini-uas.ts';
import { CountingSource, freshPool, RecordingInput } from './session-harness.ts';

export interface InteropReport {
  code: number | null;
  output: string;
  offerWasSavp: boolean;
  stats: CallMediaStats | null;
  /** [event code, end bit, SSRC] of every telephone-event delivered. */
  events: Array<[number, boolean, number]>;
  audioFrames: number;
  audioLengths: number[];
  distinctAudioValues: number;
  /** baresip only: samples in its decoded dump of our stream, and how many equal our frame's value. */
  heardSamples: number;
  heardOurValue: number;
}

const [peer = 'sipp', scenario = ''] = process.argv.slice(2);
const dir = mkdtempSync(join(tmpdir(), 'traceless-media-interop-'));
const clock = new MediaClock();
const input = new RecordingInput();
let media: CallMedia | null = null;
let stats: CallMediaStats | null = null;
let offerWasSavp = false;

const uas = await miniUas(
  async (offer) => {
    offerWasSavp = offer.includes('RTP/SAVP') && offer.includes('a=crypto:');
    // signallingSecure for baresip: the default policy then insists on SRTP, as it will over TLS
    const parts = { source: new CountingSource(), input, signallingSecure: peer === 'baresip' };
    const result = await CallMedia.answer(offer, parts, { pool: freshPool(2), clock, config: { bindAddress: '127.0.0.1' } });
    if (!result.ok) return null;
    media = result.media;
    return result.answerSdp;
  },
  () => {
    stats = media?.stats ?? null;
    media?.close();
  },
);

function baresipConfig(): string[] {
  writeFileSync(
    join(dir, 'config'),
    [
      'poll_method epoll',
      'sip_listen 127.0.0.1:0',
      'net_interface 127.0.0.1',
      'audio_source ausine,440',
      'ausrc_srate 48000',
      'ausrc_channels 2', // ausine only does 48 kHz stereo; baresip resamples to 8 kHz mono
      'rtp_ports 47000-47019',
      'module_path /usr/lib/baresip/modules',
      'module g711.so',
      'module ausine.so',
      'module srtp.so',
      'module sndfile.so', // dumps what it decoded from us
      `snd_path ${dir}`,
      'module_app menu.so',
      'module_app account.so',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'accounts'), '<sip:caller@127.0.0.1>;mediaenc=srtp-mand;regint=0;audio_codecs=PCMU\n');
  return ['-f', dir, '-e', `/dial sip:ivr@127.0.0.1:${uas.port}`, '-t', '4'];
}

function sippArgs(): string[] {
  const file = fileURLToPath(new URL(`./sipp/${scenario}`, import.meta.url));
  return [`127.0.0.1:${uas.port}`, '-sf', file, '-m', '1', '-i', '127.0.0.1', '-p', '0', '-mi', '127.0.0.1', '-mp', '30000', '-timeout', '30', '-timeout_error', '-nostdin'];
}

/** 16-bit PCM samples of baresip's sndfile dump of the stream it decoded from us. */
function heardSamples(): Int16Array {
  const name = existsSync(dir) ? readdirSync(dir).find((file) => file.endsWith('-dec.wav')) : undefined;
  if (!name) return new Int16Array(0);
  const wav = readFileSync(join(dir, name));
  const data = wav.indexOf('data');
  if (data < 0) return new Int16Array(0);
  const bytes = wav.subarray(data + 8);
  return new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + (bytes.length & ~1)));
}

let output = '';
let code: number | null = null;
try {
  const child = spawn(peer, peer === 'baresip' ? baresipConfig() : sippArgs(), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  [code] = (await once(child, 'exit')) as [number | null];
} finally {
  stats ??= (media as CallMedia | null)?.stats ?? null;
  (media as CallMedia | null)?.close();
  uas.close();
  clock.close();
}
const heard = heardSamples();
rmSync(dir, { recursive: true, force: true });
const report: InteropReport = {
  code,
  output: output.slice(-1500),
  offerWasSavp,
  stats,
  events: input.events.map((event) => [event.payload[0]!, (event.payload[1]! & 0x80) !== 0, event.ssrc]),
  audioFrames: input.audioFrames.length,
  audioLengths: [...new Set(input.audioFrames.map((frame) => frame.length))],
  distinctAudioValues: new Set(input.audioFrames.flatMap((frame) => [...frame])).size,
  heardSamples: heard.length,
  // µ-law 0x55, our CountingSource's fill byte, decodes to -716 (G.711)
  heardOurValue: heard.filter((sample) => sample === -716).length,
};
process.stdout.write(`${JSON.stringify(report)}\n`);
