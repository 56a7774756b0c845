/**
 * NDIS_PACKET (with its one NDIS_BUFFER and the out-of-band status) and fixed-size packet pools, the
 * NDIS 5 counterparts of NET_BUFFER_LIST and its pool: allocated up front, reused, exhaustion
 * reported by the facade.
 */

import { DescriptorPool, type DescriptorOwner, type PooledDescriptor } from '../common/descriptor-pool.ts';
import { FrameBuffer } from '../common/frame-buffer.ts';

/** Who holds a packet: the same states as an NBL. */
export type PacketOwner = DescriptorOwner;

let nextPacketId = 1;
const EMPTY = new Uint8Array(0);

/** NDIS_PACKET. */
export class NdisPacket extends FrameBuffer implements PooledDescriptor {
  readonly id = nextPacketId++;
  readonly pool: NdisPacketPool;
  /** NDIS_GET/SET_PACKET_STATUS (out-of-band data): NDIS_STATUS_RESOURCES on receive means "copy now". */
  status = 0;
  /** NDIS_SET_PACKET_HEADER_SIZE. */
  headerSize = 0;
  /** MiniportReserved / ProtocolReserved. */
  miniportReserved: unknown = null;
  protocolReserved: unknown = null;
  readonly ownData: Uint8Array | null;
  owner: PacketOwner = 'free';
  /** The adapter it was indicated by / sent to. */
  indicatedBy: object | null = null;
  sentTo: object | null = null;

  constructor(pool: NdisPacketPool, ownData: Uint8Array | null) {
    super(ownData ?? EMPTY);
    this.pool = pool;
    this.ownData = ownData;
  }

  reset(data: Uint8Array, offset: number, length: number): void {
    this.data = data;
    this.dataOffset = offset;
    this.dataLength = length;
    this.status = 0;
    this.headerSize = 0;
    this.miniportReserved = null;
    this.protocolReserved = null;
  }
}

export interface NdisPacketPoolOptions {
  tag?: string;
  /** Give each packet its own data buffer of this many bytes. */
  dataSize?: number;
  /** The adapter the pool belongs to: halt checks it was freed. */
  owner?: unknown;
}

let nextPoolId = 1;

/** NDIS_HANDLE PoolHandle of NdisAllocatePacketPool. */
export class NdisPacketPool extends DescriptorPool<NdisPacket> {
  readonly id = nextPoolId++;
  readonly tag: string;
  readonly owner: unknown;

  constructor(size: number, opts: NdisPacketPoolOptions = {}) {
    super(size);
    this.tag = opts.tag ?? `PacketPool#${this.id}`;
    this.owner = opts.owner;
    const dataSize = opts.dataSize ?? 0;
    this.fill(() => new NdisPacket(this, dataSize > 0 ? new Uint8Array(dataSize) : null));
  }
}
