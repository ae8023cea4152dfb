// Interop tests drive real peers from Debian packages. Without the tool they skip,
// unless TRACELESS_REQUIRE_INTEROP=1 (CI), where a missing tool fails the run.
import { execFileSync } from 'node:child_process';

const required = process.env.TRACELESS_REQUIRE_INTEROP === '1';

function onPath(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The `skip` option for a missing prerequisite: its reason, or a failure under CI. */
export function skipOrFail(reason: string): string {
  if (required) throw new Error(`${reason} (TRACELESS_REQUIRE_INTEROP=1)`);
  return reason;
}

/**
 * Returns the `skip` option for node:test: false when every tool is present,
 * a reason string when one is missing and interop is optional.
 * Throws when interop is required and a tool is missing.
 */
export function interopSkip(...tools: string[]): false | string {
  const missing = tools.filter((tool) => !onPath(tool));
  if (missing.length === 0) return false;
  return skipOrFail(`missing interop tool(s): ${missing.join(', ')}`);
}

/** interopSkip for a peer that also needs root (e.g. sipp's play_dtmf uses a raw socket). */
export function interopSkipUnlessRoot(why: string, ...tools: string[]): false | string {
  const missing = interopSkip(...tools);
  if (missing !== false) return missing;
  return process.getuid?.() === 0 ? false : skipOrFail(why);
}
