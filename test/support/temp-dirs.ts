import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Temporary directories a test process keeps for all its runs (bug check reports, run outputs).
 * They go when the process exits, and, under vitest, after each test file
 * (test/support/remove-temp-dirs.ts): vitest ends its fork workers without an 'exit' event, and
 * the directories were left in /tmp by every `npm test`.
 */
const dirs = new Set<string>();
let exitHook = false;

export function processTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', removeProcessTempDirs);
  }
  return dir;
}

/** Whether `dir` is one of them and still there (a cache of one must check before reusing it). */
export function isLiveTempDir(dir: string | undefined): dir is string {
  return dir !== undefined && dirs.has(dir);
}

export function removeProcessTempDirs(): void {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}
