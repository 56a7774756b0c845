import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIRQL_BIN = join(REPO, 'bin', 'dirql.mjs');

/** Runs `dirql …` as a user would (node bin/dirql.mjs), never rejecting: the test reads the exit status. */
export function dirql(args: readonly string[], opts: { env?: Record<string, string>; cwd?: string } = {}) {
  return execa(process.execPath, [DIRQL_BIN, ...args], { reject: false, timeout: 60_000, env: { DIRQL_LOG: 'silent', ...opts.env }, ...(opts.cwd ? { cwd: opts.cwd } : {}) });
}
