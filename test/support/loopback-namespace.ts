// Interop peers that bind wildcard sockets (sipp's control socket, baresip's RTP and DNS) run
// with their harness in a private network namespace (unshare -rn) whose only interface is
// loopback, so nothing they open is reachable from outside.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { interopSkip, skipOrFail } from './interop.ts';

/** `skip` option for node:test: the tools plus unprivileged network namespaces. */
export function loopbackNamespaceSkip(...tools: string[]): false | string {
  const missing = interopSkip(...tools, 'unshare', 'ip');
  if (missing !== false) return missing;
  try {
    execFileSync('unshare', ['-rn', 'true'], { stdio: 'ignore' });
    return false;
  } catch {
    return skipOrFail('unprivileged network namespaces (unshare -rn) are not available');
  }
}

/** Runs a TypeScript harness in the namespace; resolves the JSON object it printed last. */
export async function runInLoopbackNamespace<T>(harness: string, args: string[]): Promise<T> {
  const script = 'ip link set lo up && ip route add default dev lo && exec "$0" --import tsx "$@"';
  const child = spawn('unshare', ['-rn', 'sh', '-c', script, process.execPath, harness, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`harness ${harness} exited ${code}: ${stderr.slice(0, 2000)}`);
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as T;
}
