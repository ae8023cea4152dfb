// The prompt catalogue: per language, prompt ids and say-as clips mapped to text (for
// `npm run prompts`) and to audio files. User recordings in overlay directories
// (<overlay>/<lang>/<id>.wav) replace the generated audio for the same id, or add ids of
// their own (a flow's own prompts), as the server's `prompts.overlays` does.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import type { PromptLookup } from './call-context.ts';

/** prompts/ at the package root. */
export const DEFAULT_PROMPTS_DIR = fileURLToPath(new URL('../../prompts', import.meta.url));
const WAV = '.wav';

const catalogueFile = z.strictObject({
  language: z.string().min(2),
  /** espeak-ng voice used to render the text. */
  voice: z.string().min(1),
  prompts: z.record(z.string(), z.string().min(1)),
  clips: z.record(z.string(), z.string().min(1)),
});

export type CatalogueFile = z.infer<typeof catalogueFile>;

export class CatalogueError extends Error {
  readonly code = 'FLOW_CATALOGUE';
  constructor(message: string) {
    super(message);
    this.name = 'CatalogueError';
  }
}

export interface CatalogueOptions {
  /** Directory holding <lang>/catalogue.yaml and the generated <lang>/<id>.wav. */
  root?: string;
  languages?: readonly string[];
  /** Directories searched first for <lang>/<id>.wav, in order. */
  overlays?: readonly string[];
}

export class PromptCatalogue implements PromptLookup {
  readonly root: string;
  readonly overlays: readonly string[];
  readonly #files = new Map<string, CatalogueFile>();
  /** `<lang>/<id>` of every recording in the overlays. */
  readonly #recorded = new Set<string>();

  constructor(options: CatalogueOptions = {}) {
    this.root = options.root ?? DEFAULT_PROMPTS_DIR;
    this.overlays = options.overlays ?? [];
    for (const language of options.languages ?? ['en-US', 'es-US']) {
      const path = join(this.root, language, 'catalogue.yaml');
      const parsed = catalogueFile.safeParse(parse(readFileSync(path, 'utf8')));
      if (!parsed.success) throw new CatalogueError(`${path}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      if (parsed.data.language !== language) throw new CatalogueError(`${path}: language is ${parsed.data.language}, expected ${language}`);
      this.#files.set(language, parsed.data);
      for (const dir of this.overlays) {
        const languageDir = join(dir, language);
        if (!existsSync(languageDir)) continue;
        for (const name of readdirSync(languageDir)) if (name.endsWith(WAV)) this.#recorded.add(`${language}/${name.slice(0, -WAV.length)}`);
      }
    }
  }

  get languages(): string[] {
    return [...this.#files.keys()];
  }

  file(language: string): CatalogueFile | undefined {
    return this.#files.get(language);
  }

  has(language: string, id: string): boolean {
    const file = this.#files.get(language);
    if (file === undefined) return false;
    return Object.hasOwn(file.prompts, id) || Object.hasOwn(file.clips, id) || this.#recorded.has(`${language}/${id}`);
  }

  /**
   * `<lang>/<id>: reason` for each id that cannot be played in each language: not in the
   * catalogue (nor an overlay), or without its audio file. Empty when every id is complete.
   * For a flow's static list of prompt ids (a TypeScript flow exports one) and for the catalogue itself.
   */
  missingAudio(ids: Iterable<string>, languages: readonly string[] = this.languages): string[] {
    const missing: string[] = [];
    for (const language of languages) {
      for (const id of ids) {
        if (!this.has(language, id)) missing.push(`${language}/${id}: not in the catalogue`);
        else if (!this.audioPath(`${language}/${id}`)) missing.push(`${language}/${id}: no audio file`);
      }
    }
    return missing;
  }

  /** Every prompt id and clip id of one language's catalogue file. */
  ids(language: string): string[] {
    return this.entries(language).map(([id]) => id);
  }

  /** Every id → text of one language (prompts and clips), for rendering. */
  entries(language: string): Array<[string, string]> {
    const file = this.#files.get(language);
    return file ? [...Object.entries(file.prompts), ...Object.entries(file.clips)] : [];
  }

  /**
   * The audio file for a clip reference: `<lang>/<id>` from an overlay or the generated
   * set, or an absolute file path as given. Null when there is no such file.
   */
  audioPath(clip: string): string | null {
    if (isAbsolute(clip)) return existsSync(clip) ? clip : null;
    const slash = clip.indexOf('/');
    if (slash < 0) return null;
    const language = clip.slice(0, slash);
    const id = clip.slice(slash + 1);
    if (!this.has(language, id)) return null;
    // A later overlay wins, as with the server's prompts.overlays.
    for (const dir of [...this.overlays].reverse().concat(this.root)) {
      const path = join(dir, language, `${id}.wav`);
      if (existsSync(path)) return path;
    }
    return null;
  }
}
