import {
  MediaConnectState,
  MediaDuplexState,
  NdisReceiveFlags,
  NdisSendCompleteFlags,
  NdisStatus,
  type MiniportAdapter,
  type NetBuffer,
  type Ndis6Library,
  type NdisInterrupt,
  type NdisLinkState,
  type NetBufferList,
  type NetBufferListPool,
} from '../../../ndis/ndis6/index.ts';
import { Irql } from '../../../kernel/index.ts';
import { logger } from '../../../util/log.ts';
import {
  E1000Adapter,
  MAX_SEND_LENGTH,
  MIN_SEND_LENGTH,
  type AdapterLock,
  type E1000AdapterOptions,
  type FrameSink,
  type MiniportEdge,
  type ReceiveBatch,
  type SendOutcome,
} from '../miniport/index.ts';
import type { LinkState } from '../nic.ts';
import { NblQueue } from './nbl-queue.ts';
import { ndisAdapterLock } from '../common/ndis-lock.ts';

const log = logger('e1000.ndis6');

/** What an idle receive NBL describes until an indication points it at a frame. */
const NO_DATA = new Uint8Array(0);

/** NDIS_LINK_STATE of the core's LinkState (speeds in bits per second). */
export function ndisLinkState(link: LinkState): NdisLinkState {
  const bps = link.speedMbps * 1_000_000;
  return {
    mediaConnectState: link.up ? MediaConnectState.Connected : MediaConnectState.Disconnected,
    mediaDuplexState: link.fullDuplex ? MediaDuplexState.Full : MediaDuplexState.Half,
    xmitLinkSpeed: bps,
    rcvLinkSpeed: bps,
  };
}

/** What the variant counts on top of the core. */
export interface Ndis6MiniportCounters {
  /** Send NBLs failed without reaching the core: a frame of a bad length (NDIS_STATUS_INVALID_LENGTH). */
  sendsInvalid: number;
  /** Send NBLs completed with NDIS_STATUS_PAUSED because the core was not running. */
  sendsPaused: number;
  /** Received frames not indicated because the receive NBL pool was empty (returned to the ring at once). */
  receivesNoNbl: number;
}

/**
 * The MiniportAdapterContext of the NDIS 6 e1000 miniport: the framework-neutral core plus what
 * NDIS 6 needs around it (interrupt handle, receive NBL pool, send NBLs in flight). It is also the
 * core's MiniportEdge, implemented with NDIS 6 calls.
 */
export class E1000Ndis6Adapter implements MiniportEdge {
  readonly core: E1000Adapter;
  readonly counters: Ndis6MiniportCounters = { sendsInvalid: 0, sendsPaused: 0, receivesNoNbl: 0 };
  interrupt: NdisInterrupt | null = null;
  receivePool: NetBufferListPool | null = null;
  /** Receive NBLs taken from receivePool and not indicated right now (takeReceiveNbls). */
  private readonly idleReceiveNbls: NetBufferList[] = [];
  readonly ndis: Ndis6Library;
  readonly handle: MiniportAdapter;
  private readonly sending = new NblQueue();

  constructor(ndis: Ndis6Library, handle: MiniportAdapter, options: E1000AdapterOptions) {
    this.ndis = ndis;
    this.handle = handle;
    this.core = new E1000Adapter(this, options);
  }

  // ---------------------------------------------------------------- MiniportEdge (core → NDIS 6)

  /** NdisMSynchronizeWithInterruptEx with MiniportSynchronizeInterrupt running the core's callback. */
  synchronize(fn: () => boolean | Promise<boolean>): Promise<boolean> {
    return this.ndis.synchronizeWithInterruptEx(this.requireInterrupt(), 0, MiniportSynchronizeInterrupt, fn);
  }

  /** NdisMQueueDpcEx on the current processor (below DISPATCH_LEVEL it has run when the awaited call returns). */
  queueDpc(): boolean | Promise<boolean> {
    const k = this.ndis.kernel;
    const act = k.current();
    const processor = act && !act.ended ? act.processor.index : 0;
    const queued = this.ndis.queueDpcEx(this.requireInterrupt(), 0, 1 << processor);
    return typeof queued === 'number' ? queued !== 0 : queued.then((mask) => mask !== 0);
  }

  /** NDIS_SPIN_LOCK: NdisAcquireSpinLock keeps the old IRQL in the lock, NdisReleaseSpinLock restores it. */
  createLock(name: string): AdapterLock {
    return ndisAdapterLock(this.ndis, name);
  }

  /** NdisMSleep. */
  delay(microseconds: number): Promise<void> {
    return this.ndis.sleep(microseconds);
  }

  /** NdisGetSystemUpTimeEx. */
  upTimeMs(): number {
    return Number(this.ndis.getSystemUpTimeEx());
  }

  /**
   * Takes every NBL of `receivePool` once, at initialisation, as a miniport preallocates one
   * receive NBL per descriptor: indications then reuse them (no NDIS allocate and free per frame).
   */
  takeReceiveNbls(): void {
    const pool = this.receivePool;
    if (!pool) return;
    for (let n = pool.available; n > 0; n--) this.idleReceiveNbls.push(this.ndis.allocateNetBufferAndNetBufferList(pool, NO_DATA, 0, 0)!);
  }

  /** Gives the receive NBLs back to their pool (halt: every indicated one has been returned). */
  releaseReceiveNbls(): void {
    for (const nbl of this.idleReceiveNbls.splice(0)) this.ndis.freeNetBufferList(nbl);
  }

  /**
   * One receive NBL per frame, its NET_BUFFER pointed at the frame in place, chained and indicated
   * with one NdisMIndicateReceiveNetBufferLists. NBLs come back through MiniportReturnNetBufferLists
   * (returnNetBufferLists below) and wait for the next indication.
   */
  async indicateReceive(batch: ReceiveBatch): Promise<void> {
    const idle = this.idleReceiveNbls;
    let head: NetBufferList | null = null;
    let tail: NetBufferList | null = null;
    let n = 0;
    for (let i = 0; i < batch.count; i++) {
      const nbl = idle.pop();
      if (nbl) nbl.reset(batch.views[i]!, 0, batch.lengths[i]!);
      else {
        // Cannot happen with a pool as large as the ring; counted and given straight back if it does.
        const left = batch.count - i;
        this.counters.receivesNoNbl += left;
        await this.core.returnReceives(left);
        break;
      }
      nbl.sourceHandle = this.handle;
      if (tail) tail.next = nbl;
      else head = nbl;
      tail = nbl;
      n++;
    }
    if (!head) return;
    const atDispatch = this.ndis.kernel.currentIrql() >= Irql.DISPATCH_LEVEL;
    await this.ndis.indicateReceiveNetBufferLists(this.handle, head, 0, n, atDispatch ? NdisReceiveFlags.DISPATCH_LEVEL : 0);
  }

  /** The next `count` frames are finished: complete the NBLs all of whose frames are. */
  completeSends(count: number, outcome: SendOutcome): void {
    const failed = outcome === 'aborted';
    const chain = this.sending.finish(count, NdisStatus.SEND_ABORTED, failed);
    if (chain) this.complete(chain);
  }

  /** NdisMIndicateStatusEx with NDIS_STATUS_LINK_STATE. */
  indicateLink(state: LinkState): void {
    this.ndis.indicateStatusEx(this.handle, { statusCode: NdisStatus.LINK_STATE, buffer: ndisLinkState(state) });
  }

  // ---------------------------------------------------------------- MiniportXxx bodies (NDIS 6 → core)

  /**
   * MiniportSendNetBufferLists: every NET_BUFFER is one frame. NBLs with a frame of a bad length
   * fail at once (NDIS_STATUS_INVALID_LENGTH); the others go to the core in one batch (one
   * doorbell) and complete when the NIC has sent their frames. Undefined when the core's send had
   * nothing to wait for (its usual path at DISPATCH_LEVEL): NDIS then makes no promise either.
   */
  sendNetBufferLists(netBufferLists: NetBufferList): Promise<void> | undefined {
    let invalid: NetBufferList | null = null;
    let valid: NetBufferList | null = null;
    let validTail: NetBufferList | null = null;
    for (let nbl: NetBufferList | null = netBufferLists; nbl;) {
      const next: NetBufferList | null = nbl.next;
      nbl.next = null;
      let count = 0;
      let ok = true;
      for (let nb: NetBuffer | null = nbl.firstNetBuffer; nb; nb = nb.next) {
        count++;
        if (nb.dataLength < MIN_SEND_LENGTH || nb.dataLength > MAX_SEND_LENGTH || nb.dataOffset + nb.dataLength > nb.data.length) ok = false;
      }
      if (ok && count > 0) {
        if (validTail) validTail.next = nbl;
        else valid = nbl;
        validTail = nbl;
      } else {
        nbl.status = NdisStatus.INVALID_LENGTH;
        nbl.next = invalid;
        invalid = nbl;
        this.counters.sendsInvalid++;
      }
      nbl = next;
    }
    if (invalid) this.complete(invalid);
    if (!valid) return undefined;
    // The sink runs under the core's TX lock: NBLs are queued in exactly the order their frames
    // reach the ring, before any of them can complete. (An unnamed arrow: a named closure per call
    // costs a name definition per send under tsx.)
    const queued: QueuedRun = { first: -1, count: 0 };
    let taken: number | Promise<number>;
    try {
      taken = this.core.send((add) => this.queueChain(valid, add, queued));
    } catch (err) {
      return this.cancelQueued(queued, err);
    }
    if (typeof taken !== 'number') {
      return taken.then(
        (n) => this.sendTaken(valid, n),
        (err: unknown) => this.cancelQueued(queued, err),
      );
    }
    this.sendTaken(valid, taken);
    return undefined;
  }

  /** A core send that failed: the NBLs it had queued are not sending after all. */
  private cancelQueued(queued: QueuedRun, err: unknown): Promise<never> {
    if (queued.count > 0) this.sending.cancel(queued.first, queued.count);
    return Promise.reject(err);
  }

  /** After the core's send of `valid`, which took `taken` frames. */
  private sendTaken(valid: NetBufferList, taken: number): void {
    if (taken === 0) {
      // Not running (a pause raced the send): NDIS_STATUS_PAUSED, as NDIS itself would.
      for (let nbl: NetBufferList | null = valid; nbl; nbl = nbl.next) {
        nbl.status = NdisStatus.PAUSED;
        this.counters.sendsPaused++;
      }
      this.complete(valid);
    }
  }

  /** MiniportReturnNetBufferLists: the NBLs wait for the next indication, their frames' descriptors go back to the NIC. */
  async returnNetBufferLists(netBufferLists: NetBufferList): Promise<void> {
    let n = 0;
    for (let nbl: NetBufferList | null = netBufferLists; nbl;) {
      const next: NetBufferList | null = nbl.next;
      nbl.next = null;
      this.idleReceiveNbls.push(nbl);
      n++;
      nbl = next;
    }
    await this.core.returnReceives(n);
  }

  // ---------------------------------------------------------------- internals

  /** Every frame of the chain to the core's sink, each NBL into the sending queue in order. */
  private queueChain(chain: NetBufferList, add: FrameSink, queued: QueuedRun): void {
    for (let nbl: NetBufferList | null = chain; nbl;) {
      const next: NetBufferList | null = nbl.next;
      nbl.next = null;
      let count = 0;
      for (let nb: NetBuffer | null = nbl.firstNetBuffer; nb; nb = nb.next) {
        add(nb.data, nb.dataOffset, nb.dataLength);
        count++;
      }
      const seq = this.sending.push(nbl, count);
      if (queued.first < 0) queued.first = seq;
      queued.count++;
      nbl = next;
    }
  }

  private complete(chain: NetBufferList): void {
    const atDispatch = this.ndis.kernel.currentIrql() >= Irql.DISPATCH_LEVEL;
    this.ndis.sendNetBufferListsComplete(this.handle, chain, atDispatch ? NdisSendCompleteFlags.DISPATCH_LEVEL : 0);
  }

  private requireInterrupt(): NdisInterrupt {
    if (!this.interrupt) {
      log.error('the e1000 core asked for its interrupt before NdisMRegisterInterruptEx');
      throw new Error('E1000 NDIS 6 miniport: no interrupt registered');
    }
    return this.interrupt;
  }
}

/** The NBLs one send call put in the sending queue (to take back if the core throws). */
interface QueuedRun {
  first: number;
  count: number;
}

/** MiniportSynchronizeInterrupt: runs the core's callback (its SynchronizeContext) at DIRQL. */
function MiniportSynchronizeInterrupt(synchronizeContext: unknown): boolean | Promise<boolean> {
  return (synchronizeContext as () => boolean | Promise<boolean>)();
}
