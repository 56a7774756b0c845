import { DirqlError } from '../util/errors.ts';

/** Anything wrong with a recording file. `context.file` names it, `context.offset` the byte where it went wrong. */
export class RecordingError extends DirqlError {}

/** The file ends before its trailer: the session was cut off (crash, kill, full disk) or the copy is partial. */
export class RecordingTruncatedError extends RecordingError {}

/** Bytes that are not a dirql recording, or a record whose checksum or contents do not hold. */
export class RecordingCorruptError extends RecordingError {}

/** A dirql recording of a format version this dirql does not read. */
export class RecordingVersionError extends RecordingError {}
