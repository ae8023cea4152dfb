// Loads the TypeScript sources through tsx, resolved from this package's own dependencies.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
