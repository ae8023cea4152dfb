// What `traceless validate` checks about a YAML flow's audio, statically: every fixed prompt
// id it can say exists in the catalogue (or an overlay) in every language, and every file it
// plays exists and decodes as the server will decode it. Ids built from a template
// ("picked.${choice}") depend on the call and are left to the run-time check.
import { dirname, isAbsolute, resolve } from 'node:path';
import { readWavFile, WavError } from '../media/wav.ts';
import type { FlowStep } from './flow-schema.ts';
import type { Finding } from './secret-check.ts';
import type { PromptLookup } from './call-context.ts';

type Path = ReadonlyArray<string | number>;

export interface PromptUse {
  id: string;
  /** The one language a part pins (`{ prompt, lang }`), else null: every language. */
  lang: string | null;
  path: Path;
}

export interface FileUse {
  file: string;
  path: Path;
}

/** Text with no `${...}` in it: the same on every call. */
const fixed = (text: string): boolean => !text.includes('${');

/** The fixed prompt ids and audio files a YAML flow's steps can play. */
export function audioUses(steps: readonly FlowStep[]): { prompts: PromptUse[]; files: FileUse[] } {
  const prompts: PromptUse[] = [];
  const files: FileUse[] = [];
  const spec = (value: unknown, path: Path): void => {
    if (value === undefined) return;
    if (typeof value === 'string') {
      if (fixed(value)) prompts.push({ id: value, lang: null, path });
      return;
    }
    (value as Array<Record<string, unknown>>).forEach((part, i) => {
      if (typeof part.prompt === 'string' && fixed(part.prompt)) {
        prompts.push({ id: part.prompt, lang: typeof part.lang === 'string' ? part.lang : null, path: [...path, i, 'prompt'] });
      }
      if (typeof part.file === 'string' && fixed(part.file)) files.push({ file: part.file, path: [...path, i, 'file'] });
    });
  };
  for (const step of steps) {
    const base: Path = ['steps', step.index, step.action];
    const body = step.body as Record<string, unknown>;
    if (step.action === 'say') spec(step.body, base);
    else if (step.action === 'play') {
      const file = step.body as string;
      if (fixed(file)) files.push({ file, path: base });
    } else if (step.action === 'gather' || step.action === 'gatherSecret' || step.action === 'menu') {
      for (const key of ['prompt', 'invalidPrompt', 'timeoutPrompt']) spec(body[key], [...base, key]);
    }
  }
  return { prompts, files };
}

/**
 * Findings for unknown prompt ids (per language) and unplayable files. A relative file path
 * is taken from the flow file's directory; the server's config must list the same file under
 * the application's `audio`.
 */
export function checkAudio(steps: readonly FlowStep[], flowFile: string, lookup: PromptLookup, languages: readonly string[]): Finding[] {
  const { prompts, files } = audioUses(steps);
  const findings: Finding[] = [];
  for (const use of prompts) {
    const missing = (use.lang === null ? languages : [use.lang]).filter((language) => !lookup.has(language, use.id));
    if (missing.length > 0) {
      findings.push({ path: use.path, code: 'FLOW_UNKNOWN_PROMPT', message: `prompt '${use.id}' is not in the ${missing.join(' or ')} catalogue (nor a prompt overlay)` });
    }
  }
  for (const use of files) {
    const path = isAbsolute(use.file) ? use.file : resolve(dirname(flowFile), use.file);
    try {
      readWavFile(path);
    } catch (error) {
      if (!(error instanceof WavError)) throw error;
      findings.push({ path: use.path, code: 'FLOW_AUDIO_FILE', message: `cannot play ${use.file}: ${error.message}` });
    }
  }
  return findings;
}
