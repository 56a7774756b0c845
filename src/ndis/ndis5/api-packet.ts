import { NdisViolation } from '../common/bugcheck.ts';
import { NdisError } from '../common/errors.ts';
import { checkPoolHandle, ndisViolation } from '../common/handle-checks.ts';
import { requireNdisIrqlIfInRoutine } from '../common/irql-rules.ts';
import { Ndis5Adapter } from './adapter.ts';
import { Ndis5InterruptApi } from './api-interrupt.ts';
import { NdisPacketPool, type NdisPacket, type NdisPacketPoolOptions } from './packet.ts';

/** Emitted as 'poolExhausted' when NdisAllocatePacket fails. */
export interface PacketPoolExhaustedEvent {
  readonly pool: NdisPacketPool;
  readonly api: string;
  readonly failures: number;
}

/** The NDIS 5 library's NDIS_PACKET pools and packets. */
export abstract class Ndis5PacketApi extends Ndis5InterruptApi {
  /** NdisAllocatePacketPool (<= DISPATCH_LEVEL, or host code). */
  allocatePacketPool(size: number, opts: NdisPacketPoolOptions = {}): NdisPacketPool {
    requireNdisIrqlIfInRoutine(this.kernel, 'NdisAllocatePacketPool');
    if (!Number.isInteger(size) || size < 1) throw new NdisError(`NdisAllocatePacketPool: size ${size} must be a positive integer`, { size });
    const pool = new NdisPacketPool(size, opts);
    if (opts.owner instanceof Ndis5Adapter) opts.owner.pools.add(pool);
    return pool;
  }

  /** NdisFreePacketPool (<= DISPATCH_LEVEL): every packet must be back. */
  freePacketPool(pool: NdisPacketPool): void {
    const api = 'NdisFreePacketPool';
    requireNdisIrqlIfInRoutine(this.kernel, api);
    this.checkPool(pool, api);
    if (pool.inUse > 0)
      ndisViolation(this.kernel, NdisViolation.POOL_FREED_WITH_OUTSTANDING_NBLS, api, `${api}(${pool.tag}) with ${pool.inUse} packets still allocated`, pool.id, pool.inUse);
    pool.freed = true;
    if (pool.owner instanceof Ndis5Adapter) pool.owner.pools.delete(pool);
  }

  /**
   * NdisAllocatePacket (+ NdisChainBufferAtFront of one buffer) (<= DISPATCH_LEVEL). Returns null when
   * the pool is exhausted (Windows: NDIS_STATUS_RESOURCES), reported like an NBL pool's exhaustion.
   */
  allocatePacket(pool: NdisPacketPool, data: Uint8Array | null = null, offset = 0, length?: number): NdisPacket | null {
    const api = 'NdisAllocatePacket';
    requireNdisIrqlIfInRoutine(this.kernel, api);
    this.checkPool(pool, api);
    const p = pool.take();
    if (!p) {
      pool.allocationFailures++;
      this.kernel.trace.record(
        'ndis',
        `${api}: pool ${pool.tag} exhausted (${pool.size} packets in use, failure ${pool.allocationFailures})`,
        this.kernel.current()?.processor.index,
      );
      if ((pool.allocationFailures & (pool.allocationFailures - 1)) === 0)
        this.log.warn({ pool: pool.tag, failures: pool.allocationFailures }, `${api}: packet pool ${pool.tag} exhausted`);
      this.emit('poolExhausted', { pool, api, failures: pool.allocationFailures } satisfies PacketPoolExhaustedEvent);
      return null;
    }
    const buf = data ?? p.ownData;
    if (!buf) {
      pool.put(p);
      throw new NdisError(`${api}: no data given and pool ${pool.tag} has no dataSize`, { pool: pool.tag });
    }
    const len = length ?? buf.length - offset;
    if (offset < 0 || len < 0 || offset + len > buf.length) {
      pool.put(p);
      throw new NdisError(`${api}: offset ${offset} + length ${len} is outside the ${buf.length}-byte buffer`, { pool: pool.tag });
    }
    p.reset(buf, offset, len);
    return p;
  }

  /** NdisFreePacket (<= DISPATCH_LEVEL): only a packet its caller holds. */
  freePacket(packet: NdisPacket): void {
    const api = 'NdisFreePacket';
    requireNdisIrqlIfInRoutine(this.kernel, api);
    if (packet.owner !== 'allocated') {
      ndisViolation(this.kernel, NdisViolation.NBL_NOT_OWNED, api, `${api}(packet ${packet.id} of ${packet.pool.tag}) while it is ${packet.owner}`, packet.id);
    }
    packet.pool.put(packet);
  }

  private checkPool(pool: NdisPacketPool, api: string): void {
    checkPoolHandle(this.kernel, NdisPacketPool, pool, api);
  }
}
