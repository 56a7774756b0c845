import { DirqlError } from '../../util/errors.ts';

/** Base of every error raised by the e1000 hardware layer. `context` names register, slot, values. */
export class E1000Error extends DirqlError {}

/** A ring or buffer parameter the 82540EM cannot take (size, alignment, frame length). */
export class E1000ConfigError extends E1000Error {}

/** The NIC did not reach an expected state in time (reset not self-clearing, EERD never DONE, TX not draining). */
export class E1000TimeoutError extends E1000Error {}

/** The EEPROM disagrees with the receive-address registers, or its checksum is wrong. */
export class E1000EepromError extends E1000Error {}

/** An operation in the wrong lifecycle state (e.g. freeing DMA memory the NIC may still use). */
export class E1000StateError extends E1000Error {}
