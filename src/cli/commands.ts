// What each CLI command does; main.ts only parses arguments and maps errors to exit codes.
import { loadConfigForStart } from '../server/preflight.ts';
import { startServer } from '../server/server.ts';
import { simulateCommand, validateCommand } from '../flow/commands.ts';
import { runUntilSignal } from './run-until-signal.ts';
import { runDemo, type DemoLogLevel } from './demo.ts';
import { CommandFailed } from './usage-error.ts';

async function serveConfig(file: string, unsafeDebug: boolean): Promise<void> {
  // Every config, flow and TLS problem is found here, before the server binds any port (exit 2).
  const loaded = await loadConfigForStart(file);
  const server = await startServer(loaded, { unsafeDebug });
  await runUntilSignal(server);
}

export const commands = {
  async start(options: { config: string; unsafeDebug: boolean }): Promise<void> {
    await serveConfig(options.config, options.unsafeDebug);
  },
  async demo(options: { config?: string; sipPort: number; adminPort: number; mediaTimeout: number; logLevel: DemoLogLevel }): Promise<void> {
    // With a config file the demo app runs against the real database and gateway it names.
    if (options.config) return serveConfig(options.config, false);
    await runDemo({ sipPort: options.sipPort, adminPort: options.adminPort, mediaTimeoutSeconds: options.mediaTimeout, logLevel: options.logLevel });
  },
  async validate(flow: string, options: { prompts: string[] }): Promise<void> {
    const result = await validateCommand(flow, { prompts: options.prompts });
    report(result);
  },
  async simulate(flow: string, options: { keys: string }): Promise<void> {
    const result = await simulateCommand(flow, options.keys);
    report(result);
  },
};

function report(result: { exitCode: number; output: string }): void {
  process.stdout.write(`${result.output}\n`);
  if (result.exitCode !== 0) throw new CommandFailed(result.exitCode);
}
