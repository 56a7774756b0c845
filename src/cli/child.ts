import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (src/cli/ is two levels down). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** tsx's loader as dirql resolves it: a bare `tsx` would be looked for from the user's directory. */
const TSX = import.meta.resolve('tsx');

/**
 * Run a project script (a top-level TS program such as harness/cli.ts or bench/run.ts) as a child
 * under tsx, stdio inherited, and resolve with its exit status. Ctrl-C reaches the child through
 * the terminal's process group; a SIGTERM sent to this process alone is passed on.
 * `rewrite`, when given, pipes stdout and edits it (usage text naming the script).
 */
export function runScript(script: string, args: readonly string[], rewrite?: (text: string) => string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, join(ROOT, script), ...args], {
      cwd: process.cwd(),
      stdio: ['inherit', rewrite ? 'pipe' : 'inherit', 'inherit'],
    });
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const onTerm = () => child.kill('SIGTERM');
    const onInt = () => undefined; // the child got it too; this process waits for it to finish
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
    child.once('error', (err) => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      reject(err);
    });
    child.once('close', (code, signal) => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      if (rewrite) process.stdout.write(rewrite(out));
      resolve(code ?? (signal === 'SIGINT' ? 130 : 1));
    });
  });
}
