import { NdisViolation } from '../common/bugcheck.ts';
import { NdisError } from '../common/errors.ts';
import { checkPoolHandle, ndisViolation } from '../common/handle-checks.ts';
import { requireNdisIrqlIfInRoutine } from '../common/irql-rules.ts';
import { MiniportAdapter } from './adapter.ts';
import { Ndis6InterruptApi } from './api-interrupt.ts';
import { NetBufferListPool, nblOwnerText, type NetBufferList, type NetBufferListPoolOptions } from './net-buffer-list.ts';

/** Emitted as 'poolExhausted' when an NBL allocation fails. */
export interface PoolExhaustedEvent {
  readonly pool: NetBufferListPool;
  readonly api: string;
  readonly failures: number;
}

/** The NDIS 6 library's NET_BUFFER_LIST pools and NBLs. */
export abstract class Ndis6NblApi extends Ndis6InterruptApi {
  /**
   * NdisAllocateNetBufferListPool (<= DISPATCH_LEVEL, or host code): a pool of `size` NBLs, each
   * with one NET_BUFFER (and its own `dataSize`-byte buffer if given).
   */
  allocateNetBufferListPool(size: number, opts: NetBufferListPoolOptions = {}): NetBufferListPool {
    requireNdisIrqlIfInRoutine(this.kernel, 'NdisAllocateNetBufferListPool');
    if (!Number.isInteger(size) || size < 1) throw new NdisError(`NdisAllocateNetBufferListPool: size ${size} must be a positive integer`, { size });
    const pool = new NetBufferListPool(size, opts);
    if (opts.owner instanceof MiniportAdapter) opts.owner.pools.add(pool);
    return pool;
  }

  /** NdisFreeNetBufferListPool (<= DISPATCH_LEVEL): every NBL must be back in the pool. */
  freeNetBufferListPool(pool: NetBufferListPool): void {
    const api = 'NdisFreeNetBufferListPool';
    requireNdisIrqlIfInRoutine(this.kernel, api);
    this.checkPool(pool, api);
    const out = pool.inUse;
    if (out > 0) {
      ndisViolation(this.kernel, NdisViolation.POOL_FREED_WITH_OUTSTANDING_NBLS, api, `${api}(${pool.tag}) with ${out} NBLs still allocated`, pool.id, out);
    }
    pool.freed = true;
    if (pool.owner instanceof MiniportAdapter) pool.owner.pools.delete(pool);
  }

  /**
   * NdisAllocateNetBufferAndNetBufferList (<= DISPATCH_LEVEL): an NBL whose NET_BUFFER describes
   * `length` bytes of `data` at `offset` (data omitted: the pool's own buffer). Returns null when the
   * pool is exhausted, as Windows does, and reports it: pool.allocationFailures, a trace entry, a
   * warning and a 'poolExhausted' event.
   */
  allocateNetBufferAndNetBufferList(pool: NetBufferListPool, data: Uint8Array | null = null, offset = 0, length?: number): NetBufferList | null {
    const api = 'NdisAllocateNetBufferAndNetBufferList';
    requireNdisIrqlIfInRoutine(this.kernel, api);
    this.checkPool(pool, api);
    const nbl = pool.take();
    if (!nbl) {
      pool.allocationFailures++;
      this.kernel.trace.record('ndis', `${api}: pool ${pool.tag} exhausted (${pool.size} NBLs in use, failure ${pool.allocationFailures})`, this.kernel.current()?.processor.index);
      if ((pool.allocationFailures & (pool.allocationFailures - 1)) === 0) {
        this.log.warn({ pool: pool.tag, size: pool.size, failures: pool.allocationFailures }, `${api}: NBL pool ${pool.tag} exhausted`);
      }
      this.emit('poolExhausted', { pool, api, failures: pool.allocationFailures } satisfies PoolExhaustedEvent);
      return null;
    }
    const buf = data ?? nbl.ownData;
    if (!buf) {
      pool.put(nbl);
      throw new NdisError(`${api}: no data given and pool ${pool.tag} has no DataSize`, { pool: pool.tag });
    }
    const len = length ?? buf.length - offset;
    if (offset < 0 || len < 0 || offset + len > buf.length) {
      pool.put(nbl);
      throw new NdisError(`${api}: offset ${offset} + length ${len} is outside the ${buf.length}-byte buffer`, { pool: pool.tag, offset, length: len });
    }
    nbl.reset(buf, offset, len);
    return nbl;
  }

  /** NdisFreeNetBufferList (<= DISPATCH_LEVEL): only an NBL its caller holds (not indicated, not in a send). */
  freeNetBufferList(netBufferList: NetBufferList): void {
    const api = 'NdisFreeNetBufferList';
    requireNdisIrqlIfInRoutine(this.kernel, api);
    if (netBufferList.owner !== 'allocated') {
      ndisViolation(
        this.kernel,
        NdisViolation.NBL_NOT_OWNED,
        api,
        `${api}(NBL ${netBufferList.id} of ${netBufferList.pool.tag}) while it is ${nblOwnerText(netBufferList.owner)}`,
        netBufferList.id,
      );
    }
    netBufferList.pool.put(netBufferList);
  }

  private checkPool(pool: NetBufferListPool, api: string): void {
    checkPoolHandle(this.kernel, NetBufferListPool, pool, api);
  }
}
