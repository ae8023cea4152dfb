// All prompt audio a server plays, read and encoded once at start, before any port opens:
//  - the catalogue's generated clips for every language an application uses;
//  - users' recordings from `prompts.overlays` (each directory: <lang>/<id>.wav). A recording
//    replaces the catalogue clip of the same id, or defines a new id flows can say; when two
//    overlay directories hold the same <lang>/<id>, the later one in the list wins;
//  - each application's own `audio` files, which its flows play by the name written in the
//    config (play(file)); an application can play only the files it lists.
// Every problem (an unknown language directory, a file that is not <id>.wav, a WAV that does
// not decode) is collected and thrown as one ConfigError naming the config key and the file.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PromptStore, PromptStoreError, type EncodedPrompt } from '../media/prompt-store.ts';
import { readWavFile, WavError } from '../media/wav.ts';
import { PromptCatalogue } from '../flow/catalogue.ts';
import type { PromptLookup } from '../flow/call-context.ts';
import { LANGUAGES } from '../flow/say-as.ts';
import { ConfigError, configPath, type ConfigProblem, type LoadedConfig } from './config-load.ts';
import type { PromptSource } from './call-ports.ts';

export interface PromptAssets {
  /** Every catalogue and overlay clip, as `<lang>/<id>`. */
  readonly store: PromptStore;
  /** What a flow may say: the catalogue's ids plus the ids overlays define (FlowSettings.catalogue). */
  readonly lookup: PromptLookup;
  /** One application's play lists: the shared clips plus its own audio files. */
  forApp(name: string): PromptSource;
}

/** A prompt id in an overlay file name: the catalogue's style (letters, digits, `.`, `_`, `-`). */
const PROMPT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const WAV = '.wav';

/** WavError's message names the file already; PromptStoreError's names the prompt id. */
function describeFailure(error: unknown, file: string): string {
  if (error instanceof WavError) return error.message;
  if (error instanceof PromptStoreError) return `${file}: ${error.message}`;
  throw error;
}

interface Recording {
  readonly file: string;
  /** The config key of the overlay directory it came from. */
  readonly at: string;
}

function kindOf(path: string): 'file' | 'directory' | 'other' {
  try {
    const stat = statSync(path);
    return stat.isFile() ? 'file' : stat.isDirectory() ? 'directory' : 'other';
  } catch {
    return 'other';
  }
}

/** Reads the overlay directories: `<lang>/<id>` → the recording that wins (the last directory's). */
function scanOverlays(loaded: LoadedConfig, problems: ConfigProblem[]): Map<string, Recording> {
  const chosen = new Map<string, Recording>();
  loaded.config.prompts.overlays.forEach((dir, index) => {
    const at = `prompts.overlays.${index}`;
    const root = configPath(loaded, dir);
    let languages: string[];
    try {
      languages = readdirSync(root).sort();
    } catch {
      problems.push({ path: at, message: `not a readable directory: ${dir}` });
      return;
    }
    for (const language of languages) {
      const languageDir = join(root, language);
      if (kindOf(languageDir) !== 'directory') {
        problems.push({ path: at, message: `${languageDir}: only language directories belong here (<lang>/<id>.wav)` });
        continue;
      }
      if (!(LANGUAGES as readonly string[]).includes(language)) {
        problems.push({ path: at, message: `${languageDir}: unknown language directory (expected one of ${LANGUAGES.join(', ')})` });
        continue;
      }
      for (const name of readdirSync(languageDir).sort()) {
        const file = join(languageDir, name);
        const id = name.endsWith(WAV) ? name.slice(0, -WAV.length) : '';
        if (!PROMPT_ID.test(id) || kindOf(file) !== 'file') {
          problems.push({ path: at, message: `${file}: not a prompt recording (expected <id>.wav, id of letters, digits, ".", "_", "-")` });
          continue;
        }
        chosen.set(`${language}/${id}`, { file, at });
      }
    }
  });
  return chosen;
}

export function loadPromptAssets(loaded: LoadedConfig, options: { promptsRoot?: string } = {}): PromptAssets {
  const { config } = loaded;
  const problems: ConfigProblem[] = [];
  const languages = [...new Set(Object.values(config.applications).flatMap((app) => app.languages))];
  const catalogue = new PromptCatalogue({ languages, ...(options.promptsRoot ? { root: options.promptsRoot } : {}) });
  const overlays = scanOverlays(loaded, problems);

  const store = new PromptStore();
  const defined = new Set<string>();
  for (const language of languages) {
    for (const [id] of catalogue.entries(language)) {
      const clip = `${language}/${id}`;
      const recording = overlays.get(clip);
      if (recording) load(store, clip, recording, problems);
      else {
        // The package's own generated audio: a failure here is a broken install, not a config problem.
        const generated = catalogue.audioPath(clip);
        if (generated) store.loadFile(clip, generated);
      }
    }
  }
  for (const [clip, recording] of overlays) {
    const slash = clip.indexOf('/');
    const language = clip.slice(0, slash);
    const id = clip.slice(slash + 1);
    if (catalogue.has(language, id)) continue;
    if (!languages.includes(language as (typeof languages)[number])) {
      // No application speaks this language: the recording is checked, not kept.
      check(recording, problems);
      continue;
    }
    if (load(store, clip, recording, problems)) defined.add(clip);
  }

  const files = new PromptStore();
  const appFiles = new Map<string, Map<string, EncodedPrompt>>();
  for (const [name, app] of Object.entries(config.applications)) {
    const own = new Map<string, EncodedPrompt>();
    app.audio.forEach((written, index) => {
      const path = configPath(loaded, written);
      // Apps that list the same file share one encoding; the store is keyed by the full path.
      const existing = files.get(path);
      if (existing) own.set(written, existing);
      else if (load(files, path, { file: path, at: `applications.${name}.audio.${index}` }, problems)) own.set(written, files.require(path));
    });
    appFiles.set(name, own);
  }

  if (problems.length > 0) throw new ConfigError(loaded.file ?? 'configuration', problems);

  return {
    store,
    lookup: { has: (language, id) => catalogue.has(language, id) || defined.has(`${language}/${id}`) },
    forApp(name) {
      const own = appFiles.get(name) ?? new Map<string, EncodedPrompt>();
      return { get: (clip) => own.get(clip) ?? store.get(clip) };
    },
  };
}

/** Decodes and encodes one WAV into a store; a failure is a problem at the key that named it. */
function load(store: PromptStore, id: string, recording: Recording, problems: ConfigProblem[]): boolean {
  try {
    store.loadFile(id, recording.file);
    return true;
  } catch (error) {
    problems.push({ path: recording.at, message: describeFailure(error, recording.file) });
    return false;
  }
}

/** Decodes a WAV only to check it. */
function check(recording: Recording, problems: ConfigProblem[]): void {
  try {
    readWavFile(recording.file);
  } catch (error) {
    problems.push({ path: recording.at, message: describeFailure(error, recording.file) });
  }
}
