import { E1000StateError } from '../errors.ts';
import type { E1000Settings } from '../settings.ts';
import type { AdapterContext } from './context.ts';
import type { AdapterLock, ReceiveBatch } from './edge.ts';

/**
 * Frames a DPC indicates before it yields (see E1000AdapterOptions.receiveBudget). Measured with
 * QEMU on its own CPU: 256 kept about 4 interrupts per 1000 frames at 64 B; 1024 about 1.5, and
 * a DPC of up to ~3 ms at that rate.
 */
export const DEFAULT_RECEIVE_BUDGET = 1024;

/**
 * Longest frame the driver indicates, without CRC: what it answers for OID_GEN_MAXIMUM_TOTAL_SIZE.
 * The e1000 without LPE receives up to 1522 bytes (a VLAN-tagged maximum); the driver advertises
 * no VLAN support, so 1515..1522 are dropped here and counted in rxOversizeDropped.
 */
export const MAX_RECEIVE_FRAME_LENGTH = 1514;

export type ReceivePathOptions = Pick<E1000Settings, 'rxRingSize' | 'receiveBatch' | 'receiveBudget'>;

/**
 * The receive path (pcidrv's nic_recv.c): harvest the RX ring, indicate in batches, take returned
 * frames back and refill. One receiver at a time (rxActive, under the RX lock) harvests, indicates
 * and refills, so frames go up in ring order even with DPCs on several processors; descriptors of
 * indicated frames go back to the NIC only once every one of them has been returned.
 */
export class ReceivePath {
  /** Frames one DPC indicates at most (the default budget). */
  readonly budget: number;
  private readonly ctx: AdapterContext;
  private readonly rxLock: AdapterLock;
  private readonly batch: { count: number; views: Buffer[]; lengths: Uint16Array; errors: Uint8Array };
  private readonly batchCapacity: number;
  /** Frames indicated and not yet given back: their descriptors are not refilled meanwhile. */
  private rxHeld = 0;
  /** A receiver (DPC or returnReceives) owns harvest/indicate/refill. */
  private rxActive = false;
  /** Someone wanted to receive while the receiver was busy: it must look again. */
  private rxRecheck = false;

  private readonly collect = (view: Buffer, length: number, _status: number, errors: number): boolean => {
    const b = this.batch;
    if (b.count >= this.batchCapacity) return false;
    if (length > MAX_RECEIVE_FRAME_LENGTH) {
      // Taken from the ring (its descriptor is refilled) but not indicated.
      this.ctx.counters.rxOversizeDropped++;
      return true;
    }
    b.views[b.count] = view;
    b.lengths[b.count] = length;
    b.errors[b.count] = errors;
    b.count++;
    return true;
  };

  constructor(ctx: AdapterContext, options: ReceivePathOptions) {
    this.ctx = ctx;
    this.rxLock = ctx.edge.createLock('e1000 RX');
    const rxSize = options.rxRingSize ?? 256;
    this.batchCapacity = Math.max(1, Math.min(options.receiveBatch ?? 64, rxSize - 1));
    this.budget = Math.max(this.batchCapacity, options.receiveBudget ?? DEFAULT_RECEIVE_BUDGET);
    this.batch = {
      count: 0,
      views: [],
      lengths: new Uint16Array(this.batchCapacity),
      errors: new Uint8Array(this.batchCapacity),
    };
  }

  /** Frames indicated and not yet returned. */
  get held(): number {
    return this.rxHeld;
  }

  /** A receiver is running or frames are held (pause waits for neither); read under the RX lock. */
  async outstanding(): Promise<boolean> {
    await this.rxLock.acquire();
    const receiving = this.rxActive || this.rxHeld > 0;
    await this.rxLock.release();
    return receiving;
  }

  /** E1000Adapter.returnReceives (NICReturnRFD): see there. */
  async returnReceives(count: number): Promise<void> {
    const ctx = this.ctx;
    if (!Number.isInteger(count) || count < 0 || count > this.rxHeld) {
      throw new E1000StateError(`returnReceives(${count}) but only ${this.rxHeld} frames are held`, { count, held: this.rxHeld });
    }
    this.rxHeld -= count;
    if (this.rxHeld !== 0 || ctx.state === 'released' || !ctx.hw) return;
    await this.rxLock.acquire();
    if (this.rxActive) {
      // The receiver checks rxHeld again under this lock before it lets go.
      await this.rxLock.release();
      return;
    }
    this.rxActive = true;
    await this.rxLock.release();
    await this.finishReceiving(false);
  }

  /**
   * The DPC's part (NICHandleRecvInterrupt): harvest, indicate and refill until the ring is empty or
   * the budget is spent. Returns true when the DPC should run again: frames left over, or another
   * receiver asked meanwhile.
   */
  async service(budget: number): Promise<boolean> {
    const ctx = this.ctx;
    await this.rxLock.acquire();
    if (ctx.state !== 'running') {
      // Paused or halting: frames stay in the ring (the NIC back-pressures) until restart().
      await this.rxLock.release();
      return false;
    }
    if (this.rxActive) {
      this.rxRecheck = true;
      await this.rxLock.release();
      return false;
    }
    this.rxActive = true;
    await this.rxLock.release();
    const rx = ctx.nic.rx;
    const refillAt = Math.max(1, rx.size >>> 1);
    const pollLimit = Math.min(budget, this.budget);
    let total = 0;
    let leftOver = false;
    try {
      for (;;) {
        this.batch.count = 0;
        const n = rx.harvest(this.batchCapacity, this.collect);
        if (n > 0) {
          total += n;
          // Frames the length check dropped were harvested (n) but are not in the batch.
          const up = this.batch.count;
          if (up > 0) {
            this.countIndication(up);
            this.rxHeld += up;
            await ctx.edge.indicateReceive(this.batch as ReceiveBatch);
          }
          // Mid-loop refill only when a lot is harvested: one RDT doorbell per DPC otherwise.
          if (this.rxHeld === 0 && rx.pendingRefill >= refillAt) await rx.refill();
        }
        // A short harvest means the ring has caught up; frames may still be arriving (a sender
        // pacing on what was indicated sends more as we go), so look again, as NAPI polls, until
        // a harvest finds nothing or the budget is spent; then interrupts bring the rest.
        if (n === 0 || (n < this.batchCapacity && total >= pollLimit)) break;
        if (total >= budget) {
          leftOver = true;
          break;
        }
      }
    } catch (err) {
      this.rxActive = false;
      throw err;
    }
    return (await this.finishReceiving(true)) || leftOver;
  }

  /**
   * The receiver's last step: refill (unless frames are held), then let go of rxActive under the
   * lock, refilling again if everything came back meanwhile. Returns whether someone asked to
   * receive meanwhile (from a DPC: run again; otherwise the DPC is queued here).
   */
  private async finishReceiving(fromDpc: boolean): Promise<boolean> {
    const ctx = this.ctx;
    const rx = ctx.nic.rx;
    let again: boolean;
    try {
      for (;;) {
        if (this.rxHeld === 0 && rx.pendingRefill > 0) await rx.refill();
        await this.rxLock.acquire();
        if (this.rxHeld === 0 && rx.pendingRefill > 0) {
          await this.rxLock.release();
          continue;
        }
        this.rxActive = false;
        again = this.rxRecheck;
        this.rxRecheck = false;
        await this.rxLock.release();
        break;
      }
    } catch (err) {
      this.rxActive = false;
      throw err;
    }
    if (again && !fromDpc && ctx.state === 'running' && (await ctx.edge.queueDpc())) ctx.counters.dpcQueuedWithoutIsr++;
    return again;
  }

  private countIndication(n: number): void {
    const b = this.batch;
    const c = this.ctx.counters;
    let bytes = 0;
    let errors = 0;
    for (let i = 0; i < n; i++) {
      bytes += b.lengths[i]!;
      if (b.errors[i] !== 0) errors++;
    }
    c.rxIndicated += n;
    c.rxBytes += bytes;
    c.rxErrors += errors;
    c.rxIndications++;
  }
}
