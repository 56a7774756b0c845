import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { isLiveTempDir, processTempDir } from './temp-dirs.ts';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIRQL_BIN = join(REPO, 'bin', 'dirql.mjs');

let outputs: string | undefined;
/** Run directories of commands run from the repo go to a directory of this test process (test/support/temp-dirs.ts). */
function testOutputDir(): string {
  if (!isLiveTempDir(outputs)) outputs = processTempDir('dirql-test-out-');
  return outputs;
}

/**
 * Runs `dirql …` as a user would (node bin/dirql.mjs), never rejecting: the test reads the exit
 * status. Without a `cwd` it runs in the repo, its outputs (DIRQL_OUTPUT_DIR) in a temporary directory.
 */
export function dirql(args: readonly string[], opts: { env?: Record<string, string>; cwd?: string } = {}) {
  const env = { DIRQL_LOG: 'silent', ...(opts.cwd ? {} : { DIRQL_OUTPUT_DIR: testOutputDir() }), ...opts.env };
  return execa(process.execPath, [DIRQL_BIN, ...args], { reject: false, timeout: 60_000, env, ...(opts.cwd ? { cwd: opts.cwd } : {}) });
}
