// Keeps a started server running until a signal: SIGTERM drains (calls finish, up to
// drainSeconds), SIGINT ends every call at once. Either way every cell is wiped before exit.
import type { RunningServer } from '../server/server.ts';

export function runUntilSignal(server: RunningServer, cleanup: () => Promise<void> = async () => {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.removeListener('SIGTERM', stop);
      process.removeListener('SIGINT', stop);
      const ending = signal === 'SIGTERM' ? server.drain() : server.close();
      ending.then(cleanup).then(resolve, reject);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
