// The `traceless` command. Exit codes: 0 ok, 1 runtime failure, 2 bad usage or bad config.
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { commands } from './commands.ts';
import { ConfigError } from '../server/config-load.ts';
import { CommandFailed, UsageError } from './usage-error.ts';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

function buildProgram(): Command {
  const program = new Command('traceless')
    .description('Real-time IVR engine that answers calls itself and keeps nothing.')
    .version(packageJson.version, '-v, --version')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('start')
    .description('run the production server from a configuration file')
    .requiredOption('-c, --config <file>', 'YAML configuration file (see docs/configuration.md)')
    .option('--unsafe-debug', 'allow inspector, heap-snapshot and report flags (never in production)', false)
    .action(async (options: { config: string; unsafeDebug: boolean }) => commands.start(options));

  program
    .command('demo')
    .description('run the parking-ticket line with its own database and test payment gateway')
    .option('-c, --config <file>', 'point the demo app at a real database and gateway instead')
    .option('--sip-port <port>', 'SIP UDP and TCP port on 127.0.0.1', parsePort, 5060)
    .option('--admin-port <port>', 'admin HTTP port on 127.0.0.1', parsePort, 9090)
    .option('--media-timeout <seconds>', 'hang up a call after this many seconds without RTP (5-3600)', parseMediaTimeout, 30)
    .addOption(new Option('--log-level <level>', 'log level; trace adds redacted SIP traces').choices(LOG_LEVELS).default('info'))
    .action(async (options: DemoCommandOptions) => commands.demo(options));

  program
    .command('validate')
    .description(
      'check a flow. YAML: schema, step references, the static secret check, no keyed digits in logs, prompt ids in every language, played files. TypeScript: that it exports a defineFlow(...)',
    )
    .argument('<flow>', 'flow file')
    .option('-p, --prompts <dir>', "a prompt overlay directory holding the flow's own recordings as <lang>/<id>.wav (repeatable)", collect, [])
    .action(async (flow: string, options: { prompts: string[] }) => commands.validate(flow, options));

  program
    .command('simulate')
    .description('run a flow against a scripted caller, offline, and print the transcript; exits 1 when the flow ended in its error fallback')
    .argument('<flow>', 'flow file')
    .requiredOption(
      '-k, --keys <keys>',
      'the caller: one comma-separated turn per input step, e.g. "1,12345678#"; ~N waits N ms, H hangs up, a leading > barges in',
    )
    .action(async (flow: string, options: { keys: string }) => commands.simulate(flow, options));

  return program;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

interface DemoCommandOptions {
  config?: string;
  sipPort: number;
  adminPort: number;
  mediaTimeout: number;
  logLevel: (typeof LOG_LEVELS)[number];
}

function parseMediaTimeout(value: string): number {
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 5 || seconds > 3600) throw new UsageError(`media timeout must be 5-3600 seconds: ${value}`);
  return seconds;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`not a port number: ${value}`);
  return port;
}

/** Runs the CLI and returns the exit code (the process exits with it). */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and --version end with code 0 through the same path as usage errors.
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.describe()}\n`);
      return EXIT_USAGE;
    }
    if (error instanceof CommandFailed) return error.exitCode;
    if (error instanceof UsageError) {
      process.stderr.write(`traceless: ${error.message}\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(`traceless: ${(error as Error).message}\n`);
    return EXIT_FAILURE;
  }
}

