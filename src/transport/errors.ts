import { DirqlError } from '../util/errors.ts';

/** Anything that went wrong between the host and QEMU. `context.command` names the qtest command. */
export class TransportError extends DirqlError {}

/** QEMU answered `FAIL ...` to a command. */
export class QtestFailError extends TransportError {}

/** QEMU sent something that is not a valid reply to the command at the head of the queue. */
export class QtestProtocolError extends TransportError {}

/** No reply within the command timeout; the stream is no longer trustworthy and is closed. */
export class QtestTimeoutError extends TransportError {}

/** The qtest socket closed (QEMU exited or was killed) while the command was pending or after. */
export class QtestDisconnectedError extends TransportError {}

/** A command was refused before sending: QEMU aborts on malformed qtest input. */
export class QtestInvalidCommandError extends TransportError {}
