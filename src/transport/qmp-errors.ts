import { TransportError } from './errors.ts';

/** QEMU answered a QMP command with `{"error": ...}`. `context.command` names it. */
export class QmpError extends TransportError {
  /** QMP error class, e.g. `GenericError`, `DeviceNotFound`, `CommandNotFound`. */
  get errorClass(): string {
    return String(this.context.errorClass ?? '');
  }
}

/** The QMP stream broke its framing (not JSON, no greeting, a reply nobody asked for). */
export class QmpProtocolError extends TransportError {}

/** The QMP socket closed: every pending command is rejected with this. */
export class QmpDisconnectedError extends TransportError {}

/** No reply to a QMP command within the client's timeout. */
export class QmpTimeoutError extends TransportError {}
