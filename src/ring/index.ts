export { PacketRing, type PacketRingOptions, type RingStats } from './packet-ring.ts';
export { RingProducer, type RingClaim } from './producer.ts';
export { RingConsumer, type FrameHandler } from './consumer.ts';
export { readRunFromFile, writeSlotToFile } from './file-transfer.ts';
export { RingError, FrameTooLargeError, RingConfigError, RingLayoutError, RingRoleTakenError, RingUsageError } from './errors.ts';
