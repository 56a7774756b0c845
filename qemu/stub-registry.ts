/**
 * Process-wide registry of live device stubs, so that QEMU and its files go away with the host
 * however it ends: `exit` (normal end, uncaught exception) and SIGINT/SIGTERM/SIGHUP run each
 * stub's synchronous cleanup. SIGKILL is covered by `setpriv --pdeathsig KILL` and by unlinking
 * the RAM file early. The handlers are installed once, on the first registration.
 */
export interface Reapable {
  /** Synchronous last-resort cleanup: SIGKILL QEMU, remove files. Must not throw. */
  reapNow(): void;
}

const live = new Set<Reapable>();
let installed = false;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function reapAll(): void {
  for (const stub of [...live]) {
    try {
      stub.reapNow();
    } catch {
      // Best effort while the process is going down: nothing useful can be done with it here.
    }
  }
  live.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  // Registering a listener cancels Node's default "terminate on signal". If the application
  // has its own handler, it decides (and stops its machines; `exit` and pdeathsig catch the
  // rest). Otherwise clean up and restore the default by re-raising.
  if (process.listenerCount(signal) > 1) return;
  reapAll();
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  process.removeListener('exit', reapAll);
  installed = false;
  process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', reapAll);
  for (const s of SIGNALS) process.on(s, onSignal);
}

export function registerStub(stub: Reapable): void {
  install();
  live.add(stub);
}

export function unregisterStub(stub: Reapable): void {
  live.delete(stub);
}

export function liveStubCount(): number {
  return live.size;
}
