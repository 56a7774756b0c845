import { RingConfigError, RingLayoutError } from './errors.ts';

/**
 * Layout of the ring's SharedArrayBuffer. Everything lives in the one buffer so that a worker
 * opens the very same ring from a structured-cloned SAB.
 *
 *   [0, 512)            header: Int32 words, four 128-byte lines (config / producer / consumer /
 *                       sleep flags) so the two sides never write the same cache line (nor its
 *                       adjacent-line prefetch pair)
 *   [512, L)            lengths: Uint32 per slot
 *   [D, D + n*slotSize) data: n fixed slots; D is 128-byte aligned
 */
export const RING_MAGIC = 0x52494e47; // "RING"
export const RING_VERSION = 1;

const LINE_WORDS = 32; // 128 bytes
export const HEADER_BYTES = 4 * LINE_WORDS * 4;

/** Word indices into the header Int32Array. */
export const W = {
  // line 0: written once at creation (roles rarely)
  MAGIC: 0,
  VERSION: 1,
  SLOT_COUNT: 2,
  SLOT_SIZE: 3,
  LENGTHS_OFFSET: 4,
  DATA_OFFSET: 5,
  PRODUCER_ROLE: 6,
  CONSUMER_ROLE: 7,
  START_POSITION: 8,
  // line 1: written only by the producer
  TAIL: LINE_WORDS + 0,
  P_SEQ: LINE_WORDS + 1,
  TAIL_EPOCH: LINE_WORDS + 2,
  FULL_REJECTS_LO: LINE_WORDS + 3,
  FULL_REJECTS_HI: LINE_WORDS + 4,
  DROPPED_LO: LINE_WORDS + 5,
  DROPPED_HI: LINE_WORDS + 6,
  // line 2: written only by the consumer
  HEAD: 2 * LINE_WORDS + 0,
  C_SEQ: 2 * LINE_WORDS + 1,
  HEAD_EPOCH: 2 * LINE_WORDS + 2,
  EMPTY_POLLS_LO: 2 * LINE_WORDS + 3,
  EMPTY_POLLS_HI: 2 * LINE_WORDS + 4,
  // line 3: sleep words, written only around a wait; kept off the head/tail lines so that the
  // per-batch "is the other side asleep?" load hits a line that is almost never written.
  // 0 = running; n > 0 = asleep until n frames are ready (consumer) / n slots are free (producer).
  PRODUCER_WAITING: 3 * LINE_WORDS + 0,
  CONSUMER_WAITING: 3 * LINE_WORDS + 1,
} as const;

export const MIN_SLOT_SIZE = 64;
/** Lengths are Uint32 but a slot beyond 64 KiB is no Ethernet frame; keep typos out. */
export const MAX_SLOT_SIZE = 65536;
export const MAX_SLOT_COUNT = 1 << 20;

export interface RingGeometry {
  readonly slotCount: number;
  readonly slotSize: number;
  readonly lengthsOffset: number;
  readonly dataOffset: number;
  readonly byteLength: number;
}

function alignUp(value: number, to: number): number {
  return Math.ceil(value / to) * to;
}

export function computeGeometry(slotCount: number, slotSize: number): RingGeometry {
  if (!Number.isInteger(slotCount) || slotCount < 2 || slotCount > MAX_SLOT_COUNT || (slotCount & (slotCount - 1)) !== 0) {
    throw new RingConfigError('slotCount must be a power of two between 2 and 2^20', { slotCount });
  }
  // Multiple of 8 keeps every slot word-aligned for the small-frame copy loop.
  if (!Number.isInteger(slotSize) || slotSize < MIN_SLOT_SIZE || slotSize > MAX_SLOT_SIZE || slotSize % 8 !== 0) {
    throw new RingConfigError(`slotSize must be a multiple of 8 between ${MIN_SLOT_SIZE} and ${MAX_SLOT_SIZE}`, {
      slotSize,
    });
  }
  const lengthsOffset = HEADER_BYTES;
  const dataOffset = alignUp(lengthsOffset + slotCount * 4, 128);
  return { slotCount, slotSize, lengthsOffset, dataOffset, byteLength: dataOffset + slotCount * slotSize };
}

/** Read and validate the geometry a creator wrote into `sab`. */
export function readGeometry(sab: SharedArrayBuffer): RingGeometry {
  if (!(sab instanceof SharedArrayBuffer) || sab.byteLength < HEADER_BYTES) {
    throw new RingLayoutError('not a packet ring: buffer missing or shorter than the header', {
      byteLength: sab?.byteLength,
    });
  }
  const header = new Int32Array(sab, 0, HEADER_BYTES / 4);
  const magic = Atomics.load(header, W.MAGIC);
  const version = Atomics.load(header, W.VERSION);
  if (magic !== RING_MAGIC || version !== RING_VERSION) {
    throw new RingLayoutError('not a packet ring of this layout version', { magic, version, expected: RING_VERSION });
  }
  const geometry = computeGeometry(Atomics.load(header, W.SLOT_COUNT), Atomics.load(header, W.SLOT_SIZE));
  if (geometry.byteLength !== sab.byteLength || geometry.dataOffset !== Atomics.load(header, W.DATA_OFFSET) || geometry.lengthsOffset !== Atomics.load(header, W.LENGTHS_OFFSET)) {
    throw new RingLayoutError('ring header disagrees with the buffer size', {
      byteLength: sab.byteLength,
      expected: geometry.byteLength,
    });
  }
  return geometry;
}
