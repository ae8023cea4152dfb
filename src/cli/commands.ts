// What each CLI command does; main.ts only parses arguments and maps errors to exit codes.
import { loadConfig } from '../server/config-load.ts';

export const commands = {
  async start(options: { config: string; unsafeDebug: boolean }): Promise<void> {
    loadConfig(options.config);
    throw new Error('the server is not wired yet');
  },
  async demo(_options: { config?: string; sipPort: number; adminPort: number }): Promise<void> {
    throw new Error('the demo is not wired yet');
  },
  async validate(_flow: string): Promise<void> {
    throw new Error('validate is not wired yet');
  },
  async simulate(_flow: string, _options: { keys: string; hangupAfter?: number }): Promise<void> {
    throw new Error('simulate is not wired yet');
  },
};
