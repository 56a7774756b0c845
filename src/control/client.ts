import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import { logger } from '../util/log.ts';
import { ControlClosedError, ControlConnectError, ControlError, ControlNotRunningError, ControlRemoteError, ControlTimeoutError, ControlVersionMismatchError } from './errors.ts';
import { connectIpc, type IpcConnection } from './ipc-transport.ts';
import { PROTOCOL_VERSION, decodeHostMessage, encodeMessage, type HelloResult, type HostMessage, type WireError } from './protocol.ts';
import { clientSocketPath } from './socket-path.ts';

const log = logger('control.client');

export interface ControlClientOptions {
  /** Default DIRQL_CONTROL_SOCKET, else the `current` link of the private control directory. */
  socketPath?: string;
  /** Default per-call timeout (ms); default 10 s. */
  timeoutMs?: number;
  /** Give up connecting (and on the hello) after this many ms; default 5 s. */
  connectTimeoutMs?: number;
  /** Shown to the host in `hello` (for its logs). */
  clientName?: string;
  maxFrameBytes?: number;
}

export interface ControlEventInfo {
  topic: string;
  /** Events of this topic the host dropped for us (we were not reading) just before this one. */
  dropped: number;
}

export type ControlEventListener = (payload: unknown, info: ControlEventInfo) => void;

interface PendingCall {
  method: string;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const HINT = 'start one with `npm start -- --hold --control`';

function describePath(socketPath: string): string {
  try {
    if (fs.lstatSync(socketPath).isSymbolicLink()) return `${socketPath} (-> ${fs.readlinkSync(socketPath)})`;
  } catch {
    // Missing: the plain path says it.
  }
  return socketPath;
}

function connectError(err: unknown, socketPath: string): ControlError {
  const code = (err as NodeJS.ErrnoException).code;
  const where = describePath(socketPath);
  if (code === 'ENOENT') {
    return new ControlNotRunningError(`no dirql host is listening at ${where}; ${HINT}`, { socketPath, code }, { cause: err });
  }
  if (code === 'ECONNREFUSED') {
    return new ControlNotRunningError(
      `no dirql host is listening at ${where} (the socket is stale: its host died without cleaning up); ${HINT}`,
      { socketPath, code },
      { cause: err },
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ControlConnectError(`cannot connect to the dirql host at ${where}: ${message}`, { socketPath, code }, { cause: err });
}

/**
 * A connection to a running driver host's ControlServer. `connect()` performs the versioned
 * handshake; `call()` is request/response; `subscribe()` receives the host's topic events.
 * Emits 'close' (err?: Error) once, when the connection goes away for any reason.
 */
export class ControlClient extends EventEmitter<{ close: [err?: Error] }> {
  readonly socketPath: string;

  private readonly conn: IpcConnection;
  private readonly timeoutMs: number;
  private readonly pending = new Map<number, PendingCall>();
  private readonly topicListeners = new Map<string, Set<ControlEventListener>>();
  private nextId = 1;
  private closeError: ControlClosedError | undefined;
  private helloResult: HelloResult | undefined;

  private constructor(conn: IpcConnection, socketPath: string, timeoutMs: number) {
    super();
    this.conn = conn;
    this.socketPath = socketPath;
    this.timeoutMs = timeoutMs;
    conn.onFrame = (payload) => this.receive(payload);
    conn.onFramingError = (err) => log.warn({ err }, 'control host sent a broken frame; closing');
    conn.onClose = (err) => this.markClosed(err);
  }

  /**
   * Connect and shake hands. Rejects with ControlNotRunningError when nobody listens,
   * ControlVersionMismatchError when the host speaks another protocol version.
   */
  static async connect(opts: ControlClientOptions = {}): Promise<ControlClient> {
    const socketPath = clientSocketPath(opts.socketPath);
    const connectTimeoutMs = opts.connectTimeoutMs ?? 5000;
    let conn: IpcConnection;
    try {
      conn = await connectIpc(socketPath, { timeoutMs: connectTimeoutMs, maxFrameBytes: opts.maxFrameBytes });
    } catch (err) {
      throw connectError(err, socketPath);
    }
    const client = new ControlClient(conn, socketPath, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    try {
      const hello = await client.call<HelloResult>(
        'hello',
        { protocol: PROTOCOL_VERSION, ...(opts.clientName ? { client: opts.clientName } : {}) },
        { timeoutMs: connectTimeoutMs },
      );
      if (hello?.protocol !== PROTOCOL_VERSION) {
        throw new ControlVersionMismatchError(
          `the host at ${socketPath} (pid ${hello?.pid}) speaks control protocol ${hello?.protocol}, this client speaks ${PROTOCOL_VERSION}; use a client from the same dirql checkout as the host`,
          { clientProtocol: PROTOCOL_VERSION, hostProtocol: hello?.protocol ?? null, socketPath },
        );
      }
      client.helloResult = hello;
      return client;
    } catch (err) {
      await client.close();
      if (err instanceof ControlRemoteError && err.remoteName === 'ControlVersionMismatchError') {
        throw new ControlVersionMismatchError(
          `the host at ${socketPath} (pid ${String(err.context.hostPid)}) speaks control protocol ${String(err.context.hostProtocol)}, this client speaks ${PROTOCOL_VERSION}; use a client from the same dirql checkout as the host`,
          { clientProtocol: PROTOCOL_VERSION, hostProtocol: err.context.hostProtocol, socketPath },
          { cause: err },
        );
      }
      throw err;
    }
  }

  /** What the host said in the handshake (pid, driver, protocol, methods). */
  get hello(): HelloResult {
    if (!this.helloResult) throw new ControlError('the handshake has not completed');
    return this.helloResult;
  }

  get closed(): boolean {
    return this.closeError !== undefined;
  }

  /**
   * Call a host method. Resolves with its result; rejects with ControlRemoteError (the host's
   * error, typed, with context), ControlTimeoutError, or ControlClosedError.
   */
  call<R = unknown>(method: string, params?: unknown, opts: { timeoutMs?: number } = {}): Promise<R> {
    if (this.closeError) return Promise.reject(this.closeError);
    const id = this.allocateId();
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    let bytes: Buffer;
    try {
      bytes = encodeMessage({ t: 'req', id, method, params });
    } catch (err) {
      return Promise.reject(new ControlError(`params of "${method}" cannot be encoded as msgpack`, { method }, { cause: err }));
    }
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ControlTimeoutError(`control call "${method}" got no reply within ${timeoutMs} ms`, { method, id, timeoutMs, socketPath: this.socketPath }));
      }, timeoutMs);
      this.pending.set(id, { method, resolve: resolve as (value: unknown) => void, reject, timer });
      this.conn.send(bytes);
    });
  }

  /**
   * Receive events of `topic`. The host is asked to send them when the first listener of the topic
   * is added. Resolves, once the host confirmed, with a function that removes this listener (and
   * tells the host when it was the last one).
   */
  async subscribe(topic: string, listener: ControlEventListener): Promise<() => Promise<void>> {
    let set = this.topicListeners.get(topic);
    const first = !set;
    if (!set) {
      set = new Set();
      this.topicListeners.set(topic, set);
    }
    set.add(listener);
    if (first) {
      try {
        await this.call('subscribe', { topic });
      } catch (err) {
        set.delete(listener);
        if (set.size === 0 && this.topicListeners.get(topic) === set) this.topicListeners.delete(topic);
        throw err;
      }
    }
    let removed = false;
    return async () => {
      if (removed) return;
      removed = true;
      const current = this.topicListeners.get(topic);
      if (!current?.delete(listener) || current.size > 0) return;
      this.topicListeners.delete(topic);
      if (!this.closed) await this.call('unsubscribe', { topic });
    };
  }

  /** Close the connection; pending calls reject with ControlClosedError. Idempotent. */
  async close(): Promise<void> {
    if (this.closeError) return;
    this.conn.close();
    this.markClosed();
  }

  private allocateId(): number {
    // Ids wrap at 2^32; skip any still pending (a very slow call) so replies cannot be confused.
    do {
      this.nextId = this.nextId >= 0xffff_ffff ? 1 : this.nextId + 1;
    } while (this.pending.has(this.nextId));
    return this.nextId;
  }

  private receive(payload: Buffer): void {
    let message: HostMessage;
    try {
      message = decodeHostMessage(payload);
    } catch (err) {
      log.warn({ err }, 'ignoring a malformed message from the control host');
      return;
    }
    if (message.t === 'evt') {
      const set = this.topicListeners.get(message.topic);
      if (!set) return;
      const info: ControlEventInfo = { topic: message.topic, dropped: message.dropped ?? 0 };
      for (const listener of [...set]) {
        try {
          listener(message.payload, info);
        } catch (err) {
          log.error({ err, topic: message.topic }, 'control event listener threw');
        }
      }
      return;
    }
    if (message.id === null) {
      if (!message.ok) log.warn({ error: message.error }, 'control host reported an error for a message it could not attribute');
      return;
    }
    const call = this.pending.get(message.id);
    if (!call) return; // timed out earlier
    this.pending.delete(message.id);
    clearTimeout(call.timer);
    if (message.ok) call.resolve(message.result);
    else call.reject(remoteError(message.error, call.method));
  }

  private markClosed(err?: Error): void {
    if (this.closeError) return;
    this.closeError = new ControlClosedError(
      err ? `control connection to ${this.socketPath} failed: ${err.message}` : `control connection to ${this.socketPath} is closed`,
      { socketPath: this.socketPath },
      err ? { cause: err } : undefined,
    );
    for (const call of this.pending.values()) {
      clearTimeout(call.timer);
      call.reject(
        new ControlClosedError(
          `control call "${call.method}" lost: ${this.closeError.message}`,
          { method: call.method, socketPath: this.socketPath },
          err ? { cause: err } : undefined,
        ),
      );
    }
    this.pending.clear();
    this.topicListeners.clear();
    this.emit('close', err);
  }
}

function remoteError(error: WireError, method: string): ControlRemoteError {
  return new ControlRemoteError(error, method);
}
