// Top functions by self time (share of non-idle samples) in a V8 .cpuprofile (what `node --cpu-prof` writes), so a results
// file can say where the server's CPU went without anyone opening the profile.
// Run alone: node --import tsx bench/lib/profile-summary.ts <file.cpuprofile> [top]
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotFunction {
  function: string;
  where: string;
  selfPercent: number;
}

export function summarizeProfile(path: string, top = 15, root = process.cwd()): HotFunction[] {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, index) => {
    const node = byId.get(id);
    const delta = profile.timeDeltas[index] ?? 0;
    // Percentages are of busy time: a server waiting for the next tick is not a cost.
    if (!node || node.callFrame.functionName === '(idle)') return;
    const frame = node.callFrame;
    const url = frame.url.startsWith('file://') ? relative(root, new URL(frame.url).pathname) : frame.url;
    const key = `${frame.functionName || '(anonymous)'}\t${url ? `${url}:${frame.lineNumber + 1}` : ''}`;
    selfMicros.set(key, (selfMicros.get(key) ?? 0) + delta);
    total += delta;
  });
  return [...selfMicros.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, micros]) => {
      const [name, where] = key.split('\t') as [string, string];
      return { function: name, where, selfPercent: Number(((100 * micros) / Math.max(1, total)).toFixed(1)) };
    });
}

if (process.argv[1] === import.meta.filename && process.argv[2]) {
  for (const hot of summarizeProfile(process.argv[2], Number(process.argv[3] ?? 20))) {
    process.stdout.write(`${hot.selfPercent.toFixed(1).padStart(5)}%  ${hot.function}  ${hot.where}\n`);
  }
}
