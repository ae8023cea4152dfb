// The prompt catalogue: per language, prompt ids and say-as clips mapped to text (for
// `npm run prompts`) and to audio files. User recordings in overlay directories
// (<overlay>/<lang>/<id>.wav) replace the generated audio for the same id.
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import type { PromptLookup } from './call-context.ts';

/** prompts/ at the package root. */
export const DEFAULT_PROMPTS_DIR = fileURLToPath(new URL('../../prompts', import.meta.url));

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

  constructor(options: CatalogueOptions = {}) {
    this.root = options.root ?? DEFAULT_PROMPTS_DIR;
    this.overlays = options.overlays ?? [];
    for (const language of options.languages ?? ['en-US', 'es-US']) {
      const path = join(this.root, language, 'catalogue.yaml');
      const parsed = catalogueFile.safeParse(parse(readFileSync(path, 'utf8')));
      if (!parsed.success) throw new CatalogueError(`${path}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      if (parsed.data.language !== language) throw new CatalogueError(`${path}: language is ${parsed.data.language}, expected ${language}`);
      this.#files.set(language, parsed.data);
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
    return file !== undefined && (Object.hasOwn(file.prompts, id) || Object.hasOwn(file.clips, id));
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
    for (const dir of [...this.overlays, this.root]) {
      const path = join(dir, language, `${id}.wav`);
      if (existsSync(path)) return path;
    }
    return null;
  }
}
