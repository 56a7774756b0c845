import type { E1000AdapterOptions } from '../miniport/index.ts';
import type { RingDma, RingMemory } from '../ring-storage.ts';

/**
 * What the NDIS 5 and NDIS 6 MiniportInitialize both do with the resources NDIS hands them: find
 * the guest memory and DMA allocator among them and make the core's options. (KMDF gets its memory
 * from DriverEntry instead and fills in its own defaults.)
 */

/** The core settings both NDIS miniports take from their configuration (registry keywords). */
export type NdisCoreSettings = Pick<E1000AdapterOptions, 'txRingSize' | 'rxRingSize' | 'receiveBatch' | 'receiveBudget' | 'throttle' | 'mac' | 'filter'>;

/** The allocated resources as both NDIS versions describe them. */
export interface NdisAllocatedResources {
  readonly registers: E1000AdapterOptions['registers'];
  readonly memory?: unknown;
  readonly dma?: unknown;
}

export function ringMemory(value: unknown): RingMemory {
  const m = value as Partial<RingMemory> | null;
  if (!m || typeof m.readInto !== 'function' || typeof m.write !== 'function') {
    throw new Error('the adapter resources carry no synchronous guest memory (the shared RAM file)');
  }
  return m as RingMemory;
}

export function ringDma(value: unknown): RingDma {
  const d = value as Partial<RingDma> | null;
  if (!d || typeof d.alloc !== 'function' || typeof d.free !== 'function') throw new Error('the adapter resources carry no DMA allocator');
  return d as RingDma;
}

/** The core's options; throws when the resources lack guest memory or a DMA allocator. */
export function coreOptions(res: NdisAllocatedResources, settings: NdisCoreSettings, tag: string): E1000AdapterOptions {
  return {
    registers: res.registers,
    memory: ringMemory(res.memory),
    dma: ringDma(res.dma),
    txRingSize: settings.txRingSize,
    rxRingSize: settings.rxRingSize,
    receiveBatch: settings.receiveBatch,
    receiveBudget: settings.receiveBudget,
    throttle: settings.throttle,
    mac: settings.mac,
    filter: settings.filter,
    tag,
  };
}
