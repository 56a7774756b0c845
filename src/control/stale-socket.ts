import fs from 'node:fs';
import { logger } from '../util/log.ts';
import { ControlSocketInUseError, ControlSocketPathError } from './errors.ts';
import { connectIpc } from './ipc-transport.ts';

const log = logger('control.server');
const PROBE_TIMEOUT_MS = 1000;

/**
 * Make `socketPath` free to listen on: nothing there, or a socket nobody answers on (removed).
 * A live server, or a file that is not a socket, is left alone and reported.
 */
export async function clearStaleSocket(socketPath: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(socketPath);
  } catch {
    return;
  }
  if (!st.isSocket()) {
    throw new ControlSocketPathError(`${socketPath} exists and is not a socket; refusing to replace it`, { socketPath });
  }
  try {
    const probe = await connectIpc(socketPath, { timeoutMs: PROBE_TIMEOUT_MS });
    probe.close();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED') {
      log.info({ socketPath }, 'removing stale control socket');
      fs.unlinkSync(socketPath);
      return;
    }
    if (code === 'ENOENT') return;
    throw new ControlSocketInUseError(`cannot tell whether a host is serving ${socketPath} (${code ?? 'no answer'})`, { socketPath, code }, { cause: err });
  }
  throw new ControlSocketInUseError(`a dirql host is already listening at ${socketPath}`, { socketPath });
}
