import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { RingError } from './errors.ts';

/**
 * Start a worker thread running a TypeScript module. Worker threads do not inherit tsx's loader
 * hooks (neither from the parent nor from execArgv on Node 20), so the worker first registers tsx
 * through its ESM API, then imports the module.
 */
export function startTsWorker(moduleUrl: URL, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  const code = `import(${JSON.stringify(tsxEsmApiUrl())}).then((tsx) => tsx.register()).then(() => import(${JSON.stringify(moduleUrl.href)}))`;
  return new Worker(code, { ...options, eval: true });
}

let cachedApiUrl: string | undefined;

function tsxEsmApiUrl(): string {
  if (cachedApiUrl !== undefined) return cachedApiUrl;
  const require = createRequire(import.meta.url);
  const packageJsonPath = require.resolve('tsx/package.json');
  const manifest = JSON.parse(readFileSync(packageJsonPath, 'utf8')) as {
    exports: Record<string, { import: { default: string } }>;
  };
  const entry = manifest.exports['./esm/api']?.import.default;
  if (entry === undefined) {
    throw new RingError('tsx has no ./esm/api export: cannot start a TypeScript worker', { packageJsonPath });
  }
  cachedApiUrl = pathToFileURL(join(dirname(packageJsonPath), entry)).href;
  return cachedApiUrl;
}
