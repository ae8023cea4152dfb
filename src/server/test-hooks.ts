// Test-only switches, read ONCE from the environment when this module loads. They exist for
// the end-to-end residue test (test/e2e/residue.test.ts) and nothing else; production never
// sets them, and the server announces either one with a security.warning at start.
//
//  TRACELESS_TEST_GC=1 (and node started with --expose-gc): the admin listener answers
//    POST /test/gc by running two full garbage collections, so the test can scrape memory
//    once dead objects are really gone instead of waiting for V8 to decide.
//  TRACELESS_TEST_LEAK_CANARY=leak-keyed-digits-into-memory: a DELIBERATELY LEAKING build.
//    Every secure key is also appended to a JS string kept alive for the process's life —
//    the leak the residue test must catch. The value is a sentence, not "1", so that no
//    copied `=1` or `=true` can switch it on by accident.
import type { DtmfCode, KeySink } from '../vault/types.ts';

export const LEAK_CANARY_VALUE = 'leak-keyed-digits-into-memory';

export interface TestHooks {
  /** Runs full GCs; null unless TRACELESS_TEST_GC=1 and gc is exposed. */
  readonly gc: (() => void) | null;
  /** Whether the leaking build is on. */
  readonly leakKeys: boolean;
}

function read(env: NodeJS.ProcessEnv): TestHooks {
  const exposed = (globalThis as { gc?: () => void }).gc;
  return {
    gc: env.TRACELESS_TEST_GC === '1' && typeof exposed === 'function' ? () => (exposed(), exposed()) : null,
    leakKeys: env.TRACELESS_TEST_LEAK_CANARY === LEAK_CANARY_VALUE,
  };
}

export const testHooks: TestHooks = read(process.env);

/** Kept alive on purpose by the leaking build: one flat string per secure key pushed. */
const leaked: string[] = [];
const KEY_CHARS = '0123456789*#';

/** The leaking build's sink: the real sink, plus a flat JS string of every key so far. */
export function leakingSink(sink: KeySink): KeySink {
  const keys: string[] = [];
  return {
    pushKey(code: DtmfCode) {
      keys.push(KEY_CHARS[code] ?? '?');
      leaked.push(keys.join(''));
      return sink.pushKey(code);
    },
  };
}
