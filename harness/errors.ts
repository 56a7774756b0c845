import { DirqlError } from '../src/util/errors.ts';

/** Base of every error raised by the wire harness (peer, pcap, traffic, faults). */
export class HarnessError extends DirqlError {}

/** A frame outside the sizes an Ethernet wire carries (header-only minimum, 1518 or the jumbo limit). */
export class FrameSizeError extends HarnessError {}

/** An operation on a peer (or a waiter on it) after `close()`. */
export class WireClosedError extends HarnessError {}

/**
 * A wait on the wire ran out of time. `frames` holds what did arrive before the deadline
 * (collect) so a test can still report it.
 */
export class WireTimeoutError extends HarnessError {
  readonly frames: readonly Buffer[];

  constructor(message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown; frames?: readonly Buffer[] }) {
    super(message, context, options);
    this.frames = options?.frames ?? [];
  }
}

/** The UDP socket could not be bound or configured. */
export class WireSocketError extends HarnessError {}

/** A capture file that is not classic libpcap, or a truncated one. */
export class PcapFormatError extends HarnessError {}

/** Invalid harness configuration: a probability outside [0,1], a bad MAC, a bad size spec. */
export class HarnessConfigError extends HarnessError {}
