// Project lint: the layer rule (a layer imports only layers below it) and a few
// patterns that would break the promise. Run by `npm run check`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Layer rank of each src/ folder; an import must go to a strictly lower rank (or its own folder). */
export const LAYERS: Record<string, number> = {
  vault: 1,
  observe: 1,
  sip: 2,
  media: 2,
  connectors: 3,
  flow: 4,
  server: 5,
  // The command line sits on top: it starts the server (and, for the demo, an app).
  cli: 6,
};

function* sourceFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (path.endsWith('.ts')) yield path;
  }
}

const importPattern = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

export function layerViolations(srcDir = join(root, 'src')): string[] {
  const problems: string[] = [];
  for (const file of sourceFiles(srcDir)) {
    const layer = relative(srcDir, file).split('/')[0]!;
    const rank = LAYERS[layer];
    if (rank === undefined) {
      problems.push(`${relative(root, file)}: folder src/${layer} has no layer rank`);
      continue;
    }
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(importPattern)) {
      const spec = match[1] ?? match[2]!;
      if (!spec.startsWith('.')) continue;
      const target = relative(srcDir, resolve(dirname(file), spec));
      if (target.startsWith('..')) {
        // The CLI may load an application (the demo); nothing else in src/ may reach outside it.
        const intoApps = !relative(join(srcDir, '..', 'apps'), resolve(dirname(file), spec)).startsWith('..');
        if (layer === 'cli' && intoApps) continue;
        problems.push(`${relative(root, file)}: imports ${spec} from outside src/`);
        continue;
      }
      const targetLayer = target.split('/')[0]!;
      if (targetLayer === layer) continue;
      const targetRank = LAYERS[targetLayer];
      if (targetRank === undefined || targetRank >= rank) {
        problems.push(`${relative(root, file)}: layer ${layer} may not import ${targetLayer} (${spec})`);
      }
    }
  }
  return problems;
}

/** Patterns that must not appear in shipped source (src/ and apps/). */
const forbidden: Array<[RegExp, string]> = [
  [/rejectUnauthorized\s*:\s*false/, 'TLS verification must never be turned off'],
  [/NODE_TLS_REJECT_UNAUTHORIZED/, 'TLS verification must never be turned off'],
  [/console\.(log|error|warn|info|debug)\(/, 'log through src/observe, not console'],
  [/\bsetInterval\(/, 'periodic work belongs to the media clock or the timer module'],
  [/\.only\(/, 'focused test left behind'],
];

export function forbiddenPatterns(dirs = ['src', 'apps']): string[] {
  const problems: string[] = [];
  for (const dir of dirs) {
    const full = join(root, dir);
    try {
      statSync(full);
    } catch {
      continue;
    }
    for (const file of sourceFiles(full)) {
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, index) => {
        if (line.includes('lint-allow:')) return;
        for (const [pattern, why] of forbidden) {
          if (pattern.test(line)) problems.push(`${relative(root, file)}:${index + 1}: ${why}`);
        }
      });
    }
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const problems = [...layerViolations(), ...forbiddenPatterns()];
  for (const problem of problems) process.stderr.write(`${problem}\n`);
  if (problems.length > 0) process.exit(1);
}
