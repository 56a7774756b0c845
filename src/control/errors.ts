import { DirqlError } from '../util/errors.ts';

/** Base of every control-plane error. */
export class ControlError extends DirqlError {}

/** Connecting failed for a reason other than "nobody is there" (permissions, timeout). Context: socketPath, code. */
export class ControlConnectError extends ControlError {}

/** No host answers at the socket path (missing file, or a stale socket left by a dead host). Context: socketPath, code. */
export class ControlNotRunningError extends ControlConnectError {}

/** A server was asked to listen where a live host already answers. Context: socketPath. */
export class ControlSocketInUseError extends ControlError {}

/** The socket path or its directory cannot be used safely (not ours, group/world accessible, too long, not a socket). */
export class ControlSocketPathError extends ControlError {}

/** The client and the host speak different protocol versions. Context: clientProtocol, hostProtocol, socketPath. */
export class ControlVersionMismatchError extends ControlError {}

/** A call got no reply within its timeout; a late reply is discarded. Context: method, id, timeoutMs. */
export class ControlTimeoutError extends ControlError {}

/** The connection is closed (by close(), by the host stopping or dying); pending calls are rejected with it. */
export class ControlClosedError extends ControlError {}

/** A message that does not follow the protocol (undecodable, wrong shape, oversized frame). Context: reason. */
export class ControlProtocolError extends ControlError {}

/** The host has no handler for the method. Context: method, available. */
export class ControlUnknownMethodError extends ControlError {}

/** A handler's validator rejected the params. Context: method. The validator's error is the cause. */
export class ControlInvalidParamsError extends ControlError {}

/**
 * An error the host sent back for a call, rethrown on the client. `remoteName` is the host-side class
 * name (e.g. `QtestTimeoutError`, `ControlUnknownMethodError`), `context` the host-side context.
 */
export class ControlRemoteError extends ControlError {
  readonly remoteName: string;
  readonly method: string;
  readonly remoteStack: string | undefined;

  constructor(remote: { name: string; message: string; context: Record<string, unknown>; stack?: string | undefined }, method: string) {
    super(remote.message, remote.context);
    this.remoteName = remote.name;
    this.method = method;
    this.remoteStack = remote.stack;
  }
}
