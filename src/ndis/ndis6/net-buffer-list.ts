/**
 * NET_BUFFER and NET_BUFFER_LIST, and fixed-size pools of them. A pool allocates every NBL (and its
 * first NET_BUFFER, and, with `dataSize`, its data buffer) up front, so the steady state allocates
 * nothing; running out is reported by the facade (a null return, a counter, an event, a trace entry).
 */

import { DescriptorPool, type DescriptorOwner, type PooledDescriptor } from '../common/descriptor-pool.ts';
import { FrameBuffer } from '../common/frame-buffer.ts';

/** Who holds an NBL right now (NdisMIndicateReceiveNetBufferLists, MiniportSendNetBufferLists). */
export type NblOwner = DescriptorOwner;

/** NET_BUFFER: one frame's worth of data (one MDL here: a view, an offset and a length). */
export class NetBuffer extends FrameBuffer {
  /** NET_BUFFER_NEXT_NB. */
  next: NetBuffer | null = null;
}

const EMPTY = new Uint8Array(0);
let nextNblId = 1;

/** NET_BUFFER_LIST. */
export class NetBufferList implements PooledDescriptor {
  readonly id = nextNblId++;
  readonly pool: NetBufferListPool;
  /** NET_BUFFER_LIST_NEXT_NBL: the chain an indication, send or completion carries. */
  next: NetBufferList | null = null;
  /** NET_BUFFER_LIST_FIRST_NB. */
  readonly firstNetBuffer: NetBuffer;
  /** NET_BUFFER_LIST_STATUS: set by the miniport before NdisMSendNetBufferListsComplete. */
  status = 0;
  /** NET_BUFFER_LIST_FLAGS / NblFlags. */
  flags = 0;
  /** SourceHandle: the adapter handle, set by the miniport on receive. */
  sourceHandle: unknown = null;
  /** MiniportReserved: the miniport's own per-NBL context (its RX descriptor, its TX slot). */
  miniportReserved: unknown = null;
  /** ProtocolReserved: the protocol side's per-NBL context. */
  protocolReserved: unknown = null;
  /** The pool's own data buffer (pools created with dataSize), reused on every allocation. */
  readonly ownData: Uint8Array | null;
  owner: NblOwner = 'free';
  /** The adapter it was indicated by (while 'indicated' or 'lent'). */
  indicatedBy: object | null = null;
  /** The adapter whose MiniportSendNetBufferLists holds it (while 'sending'). */
  sentTo: object | null = null;

  constructor(pool: NetBufferListPool, ownData: Uint8Array | null) {
    this.pool = pool;
    this.ownData = ownData;
    this.firstNetBuffer = new NetBuffer(ownData ?? EMPTY);
  }

  /** NET_BUFFER_LIST_FIRST_NB(nbl)->DataLength, the frame length of a one-NET_BUFFER NBL. */
  get dataLength(): number {
    return this.firstNetBuffer.dataLength;
  }

  /** Reset to the state NdisAllocateNetBufferAndNetBufferList returns. */
  reset(data: Uint8Array, offset: number, length: number): void {
    this.next = null;
    this.status = 0;
    this.flags = 0;
    this.sourceHandle = null;
    this.miniportReserved = null;
    this.protocolReserved = null;
    const nb = this.firstNetBuffer;
    nb.next = null;
    nb.data = data;
    nb.dataOffset = offset;
    nb.dataLength = length;
  }
}

export interface NetBufferListPoolOptions {
  /** PoolTag, shown in reports. */
  tag?: string;
  /** DataSize: give each NBL its own data buffer of this many bytes (the protocol's send pool). */
  dataSize?: number;
  /** The adapter the pool belongs to (NdisHandle): halt checks the pool was freed. */
  owner?: unknown;
}

let nextPoolId = 1;

/** NDIS_HANDLE NdisPoolHandle of NdisAllocateNetBufferListPool: a fixed number of NBLs. */
export class NetBufferListPool extends DescriptorPool<NetBufferList> {
  readonly id = nextPoolId++;
  readonly tag: string;
  readonly dataSize: number;
  readonly owner: unknown;

  constructor(size: number, opts: NetBufferListPoolOptions = {}) {
    super(size);
    this.tag = opts.tag ?? `NblPool#${this.id}`;
    this.dataSize = opts.dataSize ?? 0;
    this.owner = opts.owner;
    this.fill(() => new NetBufferList(this, this.dataSize > 0 ? new Uint8Array(this.dataSize) : null));
  }

  protected override clear(nbl: NetBufferList): void {
    nbl.next = null;
    nbl.miniportReserved = null;
    nbl.protocolReserved = null;
  }

  /** Every NBL of the pool not in the pool: leak reports. */
  outstanding(): NetBufferList[] {
    return this.all.filter((n) => n.owner !== 'free');
  }
}

/** Number of NBLs in a chain. */
export function countNetBufferLists(head: NetBufferList | null): number {
  let n = 0;
  for (let nbl = head; nbl; nbl = nbl.next) n++;
  return n;
}

/** Link NBLs into a chain (host and test convenience); returns the head. */
export function chainNetBufferLists(nbls: readonly NetBufferList[]): NetBufferList | null {
  for (let i = 0; i < nbls.length; i++) nbls[i]!.next = nbls[i + 1] ?? null;
  return nbls[0] ?? null;
}

/** The NBLs of a chain as an array (allocates: host and test convenience). */
export function netBufferListArray(head: NetBufferList | null): NetBufferList[] {
  const out: NetBufferList[] = [];
  for (let nbl = head; nbl; nbl = nbl.next) out.push(nbl);
  return out;
}

/** Who holds an NBL, for reports. */
export function nblOwnerText(owner: NblOwner): string {
  switch (owner) {
    case 'free':
      return 'free (back in its pool)';
    case 'allocated':
      return 'held by its allocator';
    case 'indicated':
      return 'indicated to the protocol and not returned';
    case 'lent':
      return 'being indicated with NDIS_RECEIVE_FLAGS_RESOURCES';
    case 'sending':
      return 'in a send not completed yet';
  }
}
