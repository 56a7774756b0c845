import type { RingGeometry } from './layout.ts';

/** The typed views both endpoints share; built once per ring object, never per frame. */
export interface RingMemory {
  readonly sab: SharedArrayBuffer;
  readonly geometry: RingGeometry;
  readonly mask: number;
  readonly header: Int32Array;
  readonly lengths: Uint32Array;
  /** All slots, slot i at i * slotSize. */
  readonly data: Uint8Array;
  /** Same bytes as `data`, as words (slots are 8-byte aligned). */
  readonly data32: Int32Array;
  /** One preallocated view per slot, each slotSize long. */
  readonly views: readonly Uint8Array[];
}

export function mapRingMemory(sab: SharedArrayBuffer, geometry: RingGeometry): RingMemory {
  const { slotCount, slotSize, lengthsOffset, dataOffset } = geometry;
  const views: Uint8Array[] = [];
  for (let i = 0; i < slotCount; i++) views.push(new Uint8Array(sab, dataOffset + i * slotSize, slotSize));
  return {
    sab,
    geometry,
    mask: slotCount - 1,
    header: new Int32Array(sab, 0, lengthsOffset / 4),
    lengths: new Uint32Array(sab, lengthsOffset, slotCount),
    data: new Uint8Array(sab, dataOffset, slotCount * slotSize),
    data32: new Int32Array(sab, dataOffset, (slotCount * slotSize) / 4),
    views,
  };
}
