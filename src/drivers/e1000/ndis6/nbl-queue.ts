import type { NetBuffer, NetBufferList } from '../../../ndis/ndis6/index.ts';

/**
 * Send NBLs the miniport holds, in the order their frames went to the core, each with the number of
 * its frames not yet finished (kept in MiniportReserved). Entries are addressed by a running
 * sequence number, so a send can find its own NBLs after others queued theirs behind; a cancelled
 * entry leaves a hole that finish() steps over. A power-of-two circular array: nothing is allocated
 * once it has grown to its working size.
 */
export class NblQueue {
  private items: (NetBufferList | undefined)[] = new Array<NetBufferList | undefined>(256).fill(undefined);
  private mask = 255;
  private headSeq = 0;
  private tailSeq = 0;

  /** Entries held (holes included). */
  get length(): number {
    return this.tailSeq - this.headSeq;
  }

  /** Queue an NBL with `frames` frames; returns its sequence number. */
  push(nbl: NetBufferList, frames: number): number {
    if (this.tailSeq - this.headSeq === this.items.length) this.grow();
    nbl.miniportReserved = frames;
    this.items[this.tailSeq & this.mask] = nbl;
    return this.tailSeq++;
  }

  /** Every NET_BUFFER of the `count` entries from `seq` on, in order. */
  forEachNetBuffer(seq: number, count: number, visit: (nb: NetBuffer) => void): void {
    for (let s = seq; s < seq + count; s++) {
      const nbl = this.items[s & this.mask];
      if (!nbl) continue;
      for (let nb: NetBuffer | null = nbl.firstNetBuffer; nb; nb = nb.next) visit(nb);
    }
  }

  /** Take the `count` entries from `seq` on out (their frames never reached the core); returns them chained. */
  cancel(seq: number, count: number): NetBufferList | null {
    let head: NetBufferList | null = null;
    for (let s = seq + count - 1; s >= seq; s--) {
      const nbl = this.items[s & this.mask];
      if (!nbl) continue;
      this.items[s & this.mask] = undefined;
      nbl.miniportReserved = null;
      nbl.next = head;
      head = nbl;
    }
    this.trimHead();
    return head;
  }

  /**
   * `frames` more frames are finished, counted from the front: NBLs all of whose frames are
   * finished leave the queue, chained through `next` (null if none). `failed`: they get `status`.
   */
  finish(frames: number, status: number, failed: boolean): NetBufferList | null {
    let head: NetBufferList | null = null;
    let tail: NetBufferList | null = null;
    while (frames > 0 && this.headSeq < this.tailSeq) {
      const at = this.headSeq & this.mask;
      const nbl = this.items[at];
      if (!nbl) {
        this.headSeq++;
        continue;
      }
      const left = nbl.miniportReserved as number;
      const take = Math.min(left, frames);
      frames -= take;
      if (failed) nbl.status = status;
      if (take < left) {
        nbl.miniportReserved = left - take;
        break;
      }
      this.items[at] = undefined;
      this.headSeq++;
      nbl.miniportReserved = null;
      nbl.next = null;
      if (tail) tail.next = nbl;
      else head = nbl;
      tail = nbl;
    }
    this.trimHead();
    return head;
  }

  private trimHead(): void {
    while (this.headSeq < this.tailSeq && !this.items[this.headSeq & this.mask]) this.headSeq++;
  }

  private grow(): void {
    const old = this.items;
    const oldMask = this.mask;
    this.items = new Array<NetBufferList | undefined>(old.length * 2).fill(undefined);
    this.mask = this.items.length - 1;
    for (let s = this.headSeq; s < this.tailSeq; s++) this.items[s & this.mask] = old[s & oldMask];
  }
}
