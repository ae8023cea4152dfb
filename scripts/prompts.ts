// `npm run prompts`: renders every catalogue entry (prompt ids and say-as clips) to
// prompts/<lang>/<id>.wav, 8 kHz mono 16-bit PCM, with espeak-ng and sox.
// Only catalogue text is ever spoken by TTS; dynamic values are clip concatenations.
// Unchanged entries are skipped (prompts/<lang>/rendered.json keeps a hash per id).
//   npm run prompts                 render what changed
//   npm run prompts -- --force      render everything
//   npm run prompts -- --check      exit 1 if any entry has no audio or stale audio
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PromptCatalogue } from '../src/flow/catalogue.ts';

const args = new Set(process.argv.slice(2));
const catalogue = new PromptCatalogue();

function hashOf(voice: string, text: string): string {
  return createHash('sha256').update(`${voice}\n${text}`).digest('hex').slice(0, 16);
}

function render(voice: string, text: string, out: string): void {
  // espeak-ng speaks at 22.05 kHz; sox converts once to the media layer's native format,
  // leaves 1 dB of headroom (resampling overshoots), and trims the leading and trailing
  // silence so concatenated clips sound like one sentence (a 50 ms tail keeps words apart).
  const wav = execFileSync('espeak-ng', ['-v', voice, '-s', '175', '--stdout', text], { maxBuffer: 64 * 1024 * 1024 });
  const trim = ['silence', '1', '0.02', '0.5%', 'reverse', 'silence', '1', '0.02', '0.5%', 'reverse', 'pad', '0', '0.05'];
  execFileSync('sox', ['-q', '-t', 'wav', '-', '-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer', out, 'gain', '-1', ...trim], { input: wav });
}

let problems = 0;
let rendered = 0;
for (const language of catalogue.languages) {
  const dir = join(catalogue.root, language);
  const manifestPath = join(dir, 'rendered.json');
  const manifest: Record<string, string> = existsSync(manifestPath) ? JSON.parse(readFileSync(manifestPath, 'utf8')) : {};
  const voice = catalogue.file(language)!.voice;
  const entries = catalogue.entries(language);
  const wanted = new Set(entries.map(([id]) => `${id}.wav`));
  for (const [id, text] of entries) {
    const out = join(dir, `${id}.wav`);
    const hash = hashOf(voice, text);
    const fresh = existsSync(out) && manifest[id] === hash;
    if (args.has('--check')) {
      if (!fresh) {
        process.stderr.write(`${language}/${id}: ${existsSync(out) ? 'stale' : 'missing'} audio\n`);
        problems += 1;
      }
      continue;
    }
    if (fresh && !args.has('--force')) continue;
    render(voice, text, out);
    manifest[id] = hash;
    rendered += 1;
  }
  if (!args.has('--check')) {
    for (const name of readdirSync(dir)) {
      if (name.endsWith('.wav') && !wanted.has(name)) unlinkSync(join(dir, name));
    }
    for (const id of Object.keys(manifest)) if (!wanted.has(`${id}.wav`)) delete manifest[id];
    writeFileSync(manifestPath, `${JSON.stringify(manifest, Object.keys(manifest).sort(), 2)}\n`);
  }
}

if (args.has('--check')) {
  process.exit(problems > 0 ? 1 : 0);
} else {
  let bytes = 0;
  for (const language of catalogue.languages) {
    for (const name of readdirSync(join(catalogue.root, language))) if (name.endsWith('.wav')) bytes += statSync(join(catalogue.root, language, name)).size;
  }
  process.stdout.write(`rendered ${rendered} clip(s); audio total ${(bytes / 1024 / 1024).toFixed(2)} MiB\n`);
}
