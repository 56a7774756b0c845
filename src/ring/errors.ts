import { DirqlError } from '../util/errors.ts';

/** Base of every packet-ring error. */
export class RingError extends DirqlError {}

/** A frame longer than a slot was offered, or a published length exceeds the slot. Context: length, slotSize. */
export class FrameTooLargeError extends RingError {}

/** Options that cannot describe a ring (slot count not a power of two, slot size out of range, ...). */
export class RingConfigError extends RingError {}

/** `attach()` was given a buffer that does not hold a ring of this layout version. */
export class RingLayoutError extends RingError {}

/** A second producer or consumer for the same ring: the ring is single-producer single-consumer. */
export class RingRoleTakenError extends RingError {}

/**
 * The API was used out of order: publishing more slots than claimed, releasing more than peeked,
 * using a closed endpoint, blocking on the main thread.
 */
export class RingUsageError extends RingError {}
