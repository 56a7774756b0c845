import type { NdisLibrary } from '../../../ndis/common/library.ts';
import type { AdapterLock } from '../miniport/index.ts';

/**
 * The core's AdapterLock over an NDIS_SPIN_LOCK, for both NDIS miniports: NdisAcquireSpinLock keeps
 * the old IRQL in the lock, NdisReleaseSpinLock restores it.
 */
export function ndisAdapterLock(ndis: NdisLibrary, name: string): AdapterLock {
  const lock = ndis.allocateSpinLock(name);
  return {
    acquire: () => ndis.acquireSpinLock(lock),
    release: () => ndis.releaseSpinLock(lock),
  };
}
