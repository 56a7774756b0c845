import { EventEmitter } from 'node:events';
import { Irql } from '../kernel/index.ts';
import {
  NdisStatus,
  Oid,
  ndisStatusSucceeded,
  type Ndis5,
  type Ndis5Adapter,
  type NDIS_STATUS,
  type NdisPacket,
  type NdisPacketPool,
  type ProtocolBinding5,
} from '../ndis/ndis5/index.ts';
import { logger } from '../util/log.ts';
import type { LinkEvent } from './ndis6-protocol.ts';
import type { NdisEdgeOptions } from './ndis-edge-options.ts';
import { ReceivePath, type ReceivePathCounters } from './receive-path.ts';
import { SendPump } from './send-pump.ts';
import { TransmitPath, type TransmitPathCounters } from './transmit-path.ts';

const log = logger('upper-edge.ndis5');
/** OID_GEN_MEDIA_CONNECT_STATUS: NdisMediaStateConnected. */
const MEDIA_STATE_CONNECTED = 0;

export type Ndis5EdgeOptions = NdisEdgeOptions;

export interface Ndis5EdgeCounters {
  rx: ReceivePathCounters & { indications: number; returned: number; lent: number };
  tx: TransmitPathCounters & { sendCalls: number; poolEmpty: number };
  linkEvents: number;
}

/**
 * The protocol side of an NDIS 5 adapter (ProtocolReceivePacket, ProtocolSendComplete,
 * ProtocolStatus): the same PacketRing hot path as the NDIS 6 edge, with NDIS_PACKETs.
 *
 * Receive: each indicated packet is copied once into an RX ring slot; packets the miniport lent
 * (NDIS_STATUS_RESOURCES) are left alone, the others go back at once with NdisReturnPackets.
 * Send: frames are peeked in the TX ring, wrapped in pooled packets whose buffers are the ring slots
 * (no copy), handed over with NdisSendPackets at DISPATCH_LEVEL in batches, and their slots released
 * in order as NdisMSendComplete reports them. Nothing is allocated per frame.
 *
 * Link: NDIS 5 reports NDIS_STATUS_MEDIA_CONNECT / MEDIA_DISCONNECT (no buffer) and the speed with
 * NDIS_STATUS_LINK_SPEED_CHANGE (100 bit/s units); the initial state comes from
 * OID_GEN_MEDIA_CONNECT_STATUS and OID_GEN_LINK_SPEED at bind time. NDIS 5 has no duplex state:
 * events say full duplex, the only mode the 82540EM negotiates with QEMU.
 *
 * Events: 'link' (LinkEvent).
 */
export class Ndis5ProtocolEdge extends EventEmitter implements ProtocolBinding5 {
  readonly receivePath: ReceivePath;
  readonly transmitPath: TransmitPath;
  readonly linkEvents: LinkEvent[] = [];
  private readonly ndis: Ndis5;
  private readonly pool: NdisPacketPool;
  private readonly processor: number;
  private adapter: Ndis5Adapter | null = null;
  private up = false;
  /** Bits per second. */
  private speed = 0;
  private indications = 0;
  private returned = 0;
  private lent = 0;
  private sendCalls = 0;
  /** The send loop; woken by send completions, kicks and stop(). */
  private readonly sendPump: SendPump;
  private releaseScheduled = false;
  private readonly releaseNow = (): void => {
    this.releaseScheduled = false;
    this.transmitPath.releaseCompleted();
    this.sendPump.wake();
  };

  constructor(ndis: Ndis5, options: Ndis5EdgeOptions) {
    super();
    this.ndis = ndis;
    this.receivePath = new ReceivePath(options.rxRing, options.onPublish, options.tap);
    this.transmitPath = new TransmitPath(options.txRing, options.tap, options.handOuts);
    this.pool = ndis.allocatePacketPool(options.sendPoolSize ?? 512, { tag: 'upper edge send' });
    this.processor = options.processor ?? 0;
    this.sendPump = new SendPump(this.transmitPath, Math.max(1, options.sendBatch ?? 64), {
      room: () => this.pool.available,
      live: () => !this.ndis.kernel.stopped && this.adapter !== null && !this.adapter.halted,
      send: (first, count) => this.sendAtDispatch(this.adapter!, this.wrap(first, count)),
    });
  }

  /**
   * Bind to a running adapter: read its link state (OID_GEN_MEDIA_CONNECT_STATUS, OID_GEN_LINK_SPEED)
   * and start taking frames from the TX ring. Host-side code.
   */
  async bind(adapter: Ndis5Adapter): Promise<void> {
    this.adapter = adapter;
    this.ndis.bindProtocol(adapter, this);
    const media = await this.ndis.queryInformation<number>(adapter, Oid.GEN_MEDIA_CONNECT_STATUS);
    const speed = await this.ndis.queryInformation<number>(adapter, Oid.GEN_LINK_SPEED);
    // An indication that arrived while querying is newer than the answers.
    if (this.linkEvents.length === 0) {
      this.up = media === MEDIA_STATE_CONNECTED;
      this.speed = speed * 100;
    }
    this.sendPump.start((err) => {
      if (!this.ndis.kernel.stopped) log.error({ err }, 'upper edge send pump failed');
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
    this.transmitPath.releaseCompleted();
    this.receivePath.close();
    this.transmitPath.close();
    if (this.pool.inUse === 0) this.ndis.freePacketPool(this.pool);
    else log.warn({ inUse: this.pool.inUse }, 'upper edge closed with sends outstanding; send pool not freed');
  }

  get counters(): Ndis5EdgeCounters {
    return {
      rx: { ...this.receivePath.counters, indications: this.indications, returned: this.returned, lent: this.lent },
      tx: { ...this.transmitPath.counters, sendCalls: this.sendCalls, poolEmpty: this.sendPump.poolEmpty },
      linkEvents: this.linkEvents.length,
    };
  }

  /** The adapter's link state as last indicated (or as queried at bind time). */
  get linkUp(): boolean {
    return this.up;
  }

  // ---------------------------------------------------------------- ProtocolBinding5 (NDIS → protocol)

  /** ProtocolReceivePacket for a whole indication: one copy per frame into the RX ring, then NdisReturnPackets. */
  async receivePackets(packets: readonly NdisPacket[], count: number, adapter: Ndis5Adapter): Promise<void> {
    this.indications++;
    const rx = this.receivePath;
    rx.begin(count);
    for (let i = 0; i < count; i++) {
      const p = packets[i]!;
      rx.push(p.data, p.dataOffset, p.dataLength);
    }
    rx.commit();
    for (let i = 0; i < count; i++) {
      const p = packets[i]!;
      if (p.status === NdisStatus.RESOURCES) {
        this.lent++;
        continue;
      }
      this.returned++;
      await this.ndis.returnPacket(adapter, p);
    }
  }

  /** ProtocolSendComplete: the packet back to the pool, its slot released in order (once per burst of completions). */
  sendComplete(packet: NdisPacket, status: NDIS_STATUS): void {
    this.transmitPath.complete(packet.protocolReserved as number, ndisStatusSucceeded(status));
    this.ndis.freePacket(packet);
    if (!this.releaseScheduled) {
      this.releaseScheduled = true;
      queueMicrotask(this.releaseNow);
    }
  }

  /** ProtocolStatus: media connect / disconnect become LinkEvents; speed changes are remembered. */
  status(generalStatus: NDIS_STATUS, statusBuffer: unknown): void {
    if (generalStatus === NdisStatus.LINK_SPEED_CHANGE && typeof statusBuffer === 'number') {
      this.speed = statusBuffer * 100;
      return;
    }
    if (generalStatus !== NdisStatus.MEDIA_CONNECT && generalStatus !== NdisStatus.MEDIA_DISCONNECT) return;
    this.up = generalStatus === NdisStatus.MEDIA_CONNECT;
    const event: LinkEvent = { up: this.up, speed: this.up ? this.speed : 0, fullDuplex: true, at: performance.now() };
    this.linkEvents.push(event);
    this.emit('link', event);
  }

  /** ProtocolStatusComplete. */
  statusComplete(): void {}

  // ---------------------------------------------------------------- sending (the SendPump calls these)

  /** Pooled packets over ring slots [first, first + count). */
  private wrap(first: number, count: number): NdisPacket[] {
    const ring = this.transmitPath.ring;
    const packets = new Array<NdisPacket>(count);
    for (let i = 0; i < count; i++) {
      const slot = first + i;
      const p = this.ndis.allocatePacket(this.pool, ring.slotView(slot), 0, ring.slotLength(slot))!;
      p.protocolReserved = slot;
      packets[i] = p;
    }
    return packets;
  }

  /**
   * NdisSendPackets from a protocol thread on `processor`: the thread starts at PASSIVE_LEVEL and
   * waits for the processor (a thread call started at DISPATCH_LEVEL can begin while a DPC is still
   * on it); NDIS raises to DISPATCH_LEVEL around MiniportSendPackets.
   */
  private async sendAtDispatch(adapter: Ndis5Adapter, packets: NdisPacket[]): Promise<void> {
    const k = this.ndis.kernel;
    this.sendCalls++;
    await k.runOnProcessor(this.processor, Irql.PASSIVE_LEVEL, 'ProtocolSend', async () => {
      await k.wait(Promise.resolve(), 'the processor');
      await this.ndis.sendPackets(adapter, packets);
    });
  }

  /** Frames were put in the TX ring from this thread: take them now rather than at the next wake-up. */
  kick(): void {
    this.sendPump.wake();
  }
}
