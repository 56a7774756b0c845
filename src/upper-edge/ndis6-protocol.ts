import { EventEmitter } from 'node:events';
import { Irql } from '../kernel/index.ts';
import {
  MediaConnectState,
  MediaDuplexState,
  NdisReceiveFlags,
  NdisReturnFlags,
  NdisSendFlags,
  NdisStatus,
  ndisStatusSucceeded,
  type MiniportAdapter,
  type Ndis6,
  type NdisLinkState,
  type NdisStatusIndication,
  type NetBuffer,
  type NetBufferList,
  type NetBufferListPool,
  type ProtocolBinding,
} from '../ndis/ndis6/index.ts';
import { logger } from '../util/log.ts';
import type { NdisEdgeOptions } from './ndis-edge-options.ts';
import { ReceivePath, type ReceivePathCounters } from './receive-path.ts';
import { SendPump } from './send-pump.ts';
import { TransmitPath, type TransmitPathCounters } from './transmit-path.ts';

const log = logger('upper-edge');
/** What an idle send NBL describes until wrap() points it at a ring slot. */
const NO_DATA = new Uint8Array(0);

/** A link state change as the upper edge saw it (NDIS_STATUS_LINK_STATE). */
export interface LinkEvent {
  up: boolean;
  /** Bits per second (NDIS_LINK_STATE xmitLinkSpeed). */
  speed: number;
  fullDuplex: boolean;
  /** performance.now() when it was indicated. */
  at: number;
}

export type UpperEdgeOptions = NdisEdgeOptions;

export interface UpperEdgeCounters {
  rx: ReceivePathCounters & { indications: number };
  tx: TransmitPathCounters & { sendCalls: number; poolEmpty: number };
  linkEvents: number;
}

/**
 * The protocol side of an NDIS 6 adapter, bound with ndis.bindProtocol: the hot path between the
 * miniport and the PacketRings the host (or a worker) reads and writes.
 *
 * Receive: each indicated NET_BUFFER is copied once, from the indicated view into an RX ring slot;
 * the NBLs go back at once (NdisReturnNetBufferLists in the indication) unless they were lent with
 * NDIS_RECEIVE_FLAGS_RESOURCES.
 * Send: frames are peeked in the TX ring, wrapped in pooled NBLs whose NET_BUFFERs point at the ring
 * slots (no copy), handed over in batches with NdisSendNetBufferLists at DISPATCH_LEVEL, and their
 * slots released in order as the sends complete. Nothing is allocated per frame.
 *
 * Events: 'link' (LinkEvent); 'error' (the send pump failed, already logged; only when someone listens).
 */
export class Ndis6ProtocolEdge extends EventEmitter implements ProtocolBinding {
  readonly receivePath: ReceivePath;
  readonly transmitPath: TransmitPath;
  readonly linkEvents: LinkEvent[] = [];
  private readonly ndis: Ndis6;
  private readonly pool: NetBufferListPool;
  /** Send NBLs not in a send right now (all of the pool's, allocated once). */
  private readonly idleSendNbls: NetBufferList[] = [];
  private readonly processor: number;
  private adapter: MiniportAdapter | null = null;
  private indications = 0;
  private sendCalls = 0;
  /** The send loop; woken by send completions, kicks and stop(). */
  private readonly sendPump: SendPump;

  constructor(ndis: Ndis6, options: UpperEdgeOptions) {
    super();
    this.ndis = ndis;
    this.receivePath = new ReceivePath(options.rxRing, options.onPublish, options.tap);
    this.transmitPath = new TransmitPath(options.txRing, options.tap, options.handOuts);
    this.pool = ndis.allocateNetBufferListPool(options.sendPoolSize ?? 512, { tag: 'upper edge send' });
    // Every send NBL is allocated once and reused: wrap() points its NET_BUFFER at a ring slot.
    for (let n = this.pool.available; n > 0; n--) this.idleSendNbls.push(ndis.allocateNetBufferAndNetBufferList(this.pool, NO_DATA, 0, 0)!);
    this.processor = options.processor ?? 0;
    this.sendPump = new SendPump(this.transmitPath, Math.max(1, options.sendBatch ?? 64), {
      room: () => this.idleSendNbls.length,
      live: () => !this.ndis.kernel.stopped && this.adapter !== null && !this.adapter.halted,
      send: (first, count) => this.sendAtDispatch(this.adapter!, this.wrap(first, count)),
    });
  }

  /** Bind to an adapter and start taking frames from the TX ring. */
  bind(adapter: MiniportAdapter): void {
    this.adapter = adapter;
    this.ndis.bindProtocol(adapter, this);
    this.sendPump.start((err) => {
      if (!this.ndis.kernel.stopped) log.error({ err }, 'upper edge send pump failed');
      // Logged above (or in the stop report); an 'error' with no listener would throw from here.
      if (this.listenerCount('error') > 0) this.emit('error', err);
    });
  }

  /** Stop sending (frames left in the TX ring stay there); waits for the send loop to end. */
  stop(): Promise<void> {
    return this.sendPump.stop();
  }

  /** Unbind, give the ring roles back and free the send pool (every send must have completed). */
  async close(): Promise<void> {
    await this.stop();
    if (this.adapter && !this.adapter.halted) this.ndis.bindProtocol(this.adapter, null);
    this.receivePath.close();
    this.transmitPath.close();
    const sending = this.pool.inUse - this.idleSendNbls.length;
    if (sending === 0) {
      for (const nbl of this.idleSendNbls.splice(0)) this.ndis.freeNetBufferList(nbl);
      this.ndis.freeNetBufferListPool(this.pool);
    } else log.warn({ inUse: sending }, 'upper edge closed with sends outstanding; send pool not freed');
  }

  get counters(): UpperEdgeCounters {
    return {
      rx: { ...this.receivePath.counters, indications: this.indications },
      tx: { ...this.transmitPath.counters, sendCalls: this.sendCalls, poolEmpty: this.sendPump.poolEmpty },
      linkEvents: this.linkEvents.length,
    };
  }

  /** The adapter's link state as last indicated (or as its attributes said). */
  get linkUp(): boolean {
    return this.adapter?.linkState.mediaConnectState === MediaConnectState.Connected;
  }

  // ---------------------------------------------------------------- ProtocolBinding (NDIS → protocol)

  /** ProtocolReceiveNetBufferLists: one copy per frame into the RX ring, then the NBLs go back. */
  async receiveNetBufferLists(netBufferLists: NetBufferList, count: number, receiveFlags: number, adapter: MiniportAdapter): Promise<void> {
    this.indications++;
    const rx = this.receivePath;
    rx.begin(count);
    for (let nbl: NetBufferList | null = netBufferLists; nbl; nbl = nbl.next) {
      for (let nb: NetBuffer | null = nbl.firstNetBuffer; nb; nb = nb.next) rx.push(nb.data, nb.dataOffset, nb.dataLength);
    }
    rx.commit();
    if ((receiveFlags & NdisReceiveFlags.RESOURCES) === 0) {
      const atDispatch = (receiveFlags & NdisReceiveFlags.DISPATCH_LEVEL) !== 0;
      await this.ndis.returnNetBufferLists(adapter, netBufferLists, atDispatch ? NdisReturnFlags.DISPATCH_LEVEL : 0);
    }
  }

  /** ProtocolSendNetBufferListsComplete: NBLs back to the idle list, slots released in order. */
  sendNetBufferListsComplete(netBufferLists: NetBufferList): void {
    const tx = this.transmitPath;
    for (let nbl: NetBufferList | null = netBufferLists; nbl;) {
      const next: NetBufferList | null = nbl.next;
      tx.complete(nbl.protocolReserved as number, ndisStatusSucceeded(nbl.status));
      nbl.next = null;
      this.idleSendNbls.push(nbl);
      nbl = next;
    }
    tx.releaseCompleted();
    this.sendPump.wake();
  }

  /** ProtocolStatusEx: link state changes become LinkEvents. */
  statusIndication(status: NdisStatusIndication): void {
    if (status.statusCode !== NdisStatus.LINK_STATE) return;
    const ls = status.buffer as NdisLinkState;
    const event: LinkEvent = {
      up: ls.mediaConnectState === MediaConnectState.Connected,
      speed: ls.xmitLinkSpeed,
      fullDuplex: ls.mediaDuplexState === MediaDuplexState.Full,
      at: performance.now(),
    };
    this.linkEvents.push(event);
    this.emit('link', event);
  }

  // ---------------------------------------------------------------- sending (the SendPump calls these)

  /** Pooled NBLs over ring slots [first, first + count), chained. */
  private wrap(first: number, count: number): NetBufferList {
    const ring = this.transmitPath.ring;
    let head: NetBufferList | null = null;
    let tail: NetBufferList | null = null;
    for (let slot = first; slot < first + count; slot++) {
      const nbl = this.idleSendNbls.pop()!;
      nbl.reset(ring.slotView(slot), 0, ring.slotLength(slot));
      nbl.protocolReserved = slot;
      if (tail) tail.next = nbl;
      else head = nbl;
      tail = nbl;
    }
    return head!;
  }

  /**
   * NdisSendNetBufferLists at DISPATCH_LEVEL, from a protocol thread call on `processor`. Undefined
   * when the miniport's send went through without waiting (its usual path): the pump goes on with
   * no promise made for this batch.
   */
  private sendAtDispatch(adapter: MiniportAdapter, chain: NetBufferList): Promise<void> | undefined {
    this.sendCalls++;
    const sending = this.ndis.kernel.runOnProcessorInline(this.processor, Irql.DISPATCH_LEVEL, 'ProtocolSend', () =>
      this.ndis.sendNetBufferListsInline(adapter, chain, 0, NdisSendFlags.DISPATCH_LEVEL),
    );
    return sending ?? undefined;
  }

  /** Frames were put in the TX ring from this thread: take them now rather than at the next wake-up. */
  kick(): void {
    this.sendPump.wake();
  }
}
