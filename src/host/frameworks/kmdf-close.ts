import type { Kernel } from '../../kernel/index.ts';
import type { WdfFramework } from '../../wdf/index.ts';

/**
 * A KMDF variant's close, once: unload the driver (its device removed first) unless the kernel has
 * stopped, then give the upper edge's ring roles back. A failed unload is logged, not thrown: the
 * edge must still be closed.
 */
export function kmdfClose(kernel: Kernel, wdf: WdfFramework, edge: { close(): Promise<void> }, log: { warn(obj: object, msg: string): void }): () => Promise<void> {
  let closed = false;
  return async () => {
    if (closed) return;
    closed = true;
    if (!kernel.stopped) {
      try {
        await wdf.unloadDriver();
      } catch (err) {
        log.warn({ err }, 'removing the device and unloading the driver failed');
      }
    }
    await edge.close();
  };
}
