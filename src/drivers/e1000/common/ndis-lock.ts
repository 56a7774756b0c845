import { RESOLVED } from '../../../kernel/index.ts';
import type { NdisLibrary } from '../../../ndis/common/library.ts';
import type { AdapterLock } from '../miniport/index.ts';

/**
 * The core's AdapterLock over an NDIS_SPIN_LOCK, for both NDIS miniports: NdisAcquireSpinLock keeps
 * the old IRQL in the lock, NdisReleaseSpinLock restores it.
 */
export function ndisAdapterLock(ndis: NdisLibrary, name: string): AdapterLock {
  const lock = ndis.allocateSpinLock(name);
  return {
    acquire: () => {
      // NdisAcquireSpinLock returns RESOLVED when the lock was free: nothing for the core to await.
      const acquiring = ndis.acquireSpinLock(lock);
      return acquiring === RESOLVED ? undefined : acquiring;
    },
    release: () => ndis.releaseSpinLock(lock),
  };
}
