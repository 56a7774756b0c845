import { DirqlError } from '../util/errors.ts';

/** Anything wrong with a recording file. `context.file` names it, `context.offset` the byte where it went wrong. */
export class RecordingError extends DirqlError {}

/** The file ends before its trailer: the session was cut off (crash, kill, full disk) or the copy is partial. */
export class RecordingTruncatedError extends RecordingError {}

/** Bytes that are not a dirql recording, or a record whose checksum or contents do not hold. */
export class RecordingCorruptError extends RecordingError {}

/** A dirql recording of a format version this dirql does not read. */
export class RecordingVersionError extends RecordingError {}

/**
 * The replayed code did something the recording does not hold at that point: another command,
 * another value written, another order, another memory read. `context.position` is the index of
 * the recorded event where it diverged, `expected`/`actual` the two commands, `recent` the last
 * recorded events before it.
 */
export class ReplayDivergenceError extends RecordingError {}
