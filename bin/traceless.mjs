// Loads the TypeScript sources through tsx, resolved from this package's own dependencies.
import { register } from 'tsx/esm/api';
import { register as registerCommonJs } from 'tsx/cjs/api';

register();
// A .ts flow outside an ESM package scope (an operator's config folder) is loaded as CommonJS,
// which needs tsx's require hook too; without it Node fails with "require() ES Module in a cycle".
registerCommonJs();
const { runCli } = await import('../src/cli/main.ts');
process.exitCode = await runCli(process.argv.slice(2));
