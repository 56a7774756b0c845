import fs from 'node:fs';
import path from 'node:path';

export interface ReadyFile {
  readonly path: string;
  /** Idempotent. */
  remove(): void;
}

/**
 * A file that exists while the host's driver is up, for a healthcheck that starts no process of
 * ours (`test -f`). Removed when the host stops and, synchronously, when the process exits; a
 * SIGKILL leaves it, so put it where a restart clears it (a container's tmpfs).
 */
export function markReady(file: string): ReadyFile {
  const target = path.resolve(file);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}`;
  fs.writeFileSync(tmp, `${process.pid}\n`);
  fs.renameSync(tmp, target);
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    process.off('exit', remove);
    fs.rmSync(target, { force: true });
  };
  process.on('exit', remove);
  return { path: target, remove };
}
