import fs from 'node:fs';
import path from 'node:path';
import { logger } from '../util/log.ts';
import {
  ControlError,
  ControlInvalidParamsError,
  ControlProtocolError,
  ControlSocketInUseError,
  ControlSocketPathError,
  ControlUnknownMethodError,
  ControlVersionMismatchError,
} from './errors.ts';
import { connectIpc, listenIpc, type IpcConnection, type IpcListener } from './ipc-transport.ts';
import {
  BUILTIN_METHODS,
  PROTOCOL_VERSION,
  decodeRequest,
  encodeMessage,
  toWireError,
  type HelloResult,
  type HostMessage,
  type RequestMessage,
} from './protocol.ts';
import { pointCurrentLink, removeCurrentLinkIfOurs, serverSocketLocation, sweepDeadHostSockets } from './socket-path.ts';

const log = logger('control.server');

/** What a handler learns about the call besides its params. */
export interface ControlCallInfo {
  method: string;
  /** Distinguishes the clients attached to this server (1, 2, …). */
  connectionId: number;
}

export type ControlHandler<P = unknown, R = unknown> = (params: P, call: ControlCallInfo) => R | Promise<R>;

export interface ControlHandlerOptions<P> {
  /** Check and narrow the params before the handler sees them; a throw becomes ControlInvalidParamsError. */
  validate?: (params: unknown) => P;
}

export interface ControlServerOptions {
  /** Socket to listen on; default DIRQL_CONTROL_SOCKET, else `<private dir>/host-<pid>.sock` plus a `current` link. */
  socketPath?: string;
  /** Driver name reported by `hello`; can be set later through `driver`. */
  driver?: string;
  /** A client whose unread bytes exceed this stops getting events (counted as dropped) until it catches up. */
  eventHighWaterBytes?: number;
  /** Largest message accepted from a client. */
  maxFrameBytes?: number;
}

export interface ControlServerStats {
  connections: number;
  requests: number;
  errorReplies: number;
  eventsPublished: number;
  eventsDelivered: number;
  eventsDropped: number;
}

interface Registration {
  handler: ControlHandler;
  validate: ((params: unknown) => unknown) | undefined;
}

interface Session {
  id: number;
  conn: IpcConnection;
  helloDone: boolean;
  topics: Set<string>;
  /** Per topic, events not delivered since the last delivery. */
  dropped: Map<string, number>;
}

const DEFAULT_EVENT_HIGH_WATER = 8 * 1024 * 1024;
const PROBE_TIMEOUT_MS = 1000;

function requireTopic(params: unknown): string {
  const topic = (params as { topic?: unknown } | null)?.topic;
  if (typeof topic !== 'string' || topic.length === 0 || topic.length > 256) {
    throw new ControlInvalidParamsError('expected { topic: string }', { received: typeof params });
  }
  return topic;
}

/**
 * The host's end of the control plane: a request/response method registry and topic events,
 * served on a unix socket through node-ipc (ipc-transport.ts).
 */
export class ControlServer {
  /** Reported by `hello` (e.g. "e1000"). */
  driver: string;

  private readonly explicitPath: string | undefined;
  private readonly eventHighWater: number;
  private readonly maxFrameBytes: number | undefined;
  private readonly handlers = new Map<string, Registration>();
  private readonly sessions = new Set<Session>();
  private readonly startedAt = Date.now();
  private listener: IpcListener | undefined;
  private location: { socketPath: string; currentLink?: string } | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private nextSessionId = 1;
  private readonly counters = { requests: 0, errorReplies: 0, eventsPublished: 0, eventsDelivered: 0, eventsDropped: 0 };
  private readonly onExit = () => this.removeFilesSync();

  constructor(opts: ControlServerOptions = {}) {
    this.explicitPath = opts.socketPath;
    this.driver = opts.driver ?? 'none';
    this.eventHighWater = opts.eventHighWaterBytes ?? DEFAULT_EVENT_HIGH_WATER;
    this.maxFrameBytes = opts.maxFrameBytes;
  }

  /** The socket path once start() resolved. */
  get socketPath(): string {
    if (!this.location) throw new ControlError('control server has not been started');
    return this.location.socketPath;
  }

  get listening(): boolean {
    return this.listener !== undefined && !this.stopping;
  }

  /** Methods registered through handle(), sorted. */
  get methods(): string[] {
    return [...this.handlers.keys()].sort();
  }

  stats(): ControlServerStats {
    return { connections: this.sessions.size, ...this.counters };
  }

  /**
   * Register the handler of `method`. Its result (or thrown error, typed with context) goes back to
   * the caller. Refuses built-in names (hello, subscribe, unsubscribe) and duplicates.
   */
  handle<P = unknown, R = unknown>(method: string, handler: ControlHandler<P, R>, opts: ControlHandlerOptions<P> = {}): this {
    if ((BUILTIN_METHODS as readonly string[]).includes(method)) {
      throw new ControlError(`"${method}" is a built-in control method`, { method });
    }
    if (this.handlers.has(method)) throw new ControlError(`control method "${method}" is already registered`, { method });
    if (method.length === 0 || method.length > 256) throw new ControlError('control method names are 1..256 characters', { method });
    // The registry forgets P: what reaches the handler is what `validate` returned (or the client sent).
    this.handlers.set(method, { handler: (params, call) => handler(params as P, call), validate: opts.validate });
    return this;
  }

  /**
   * Send an event to every client subscribed to `topic`. Encoded once. A client that is not
   * reading (unread bytes above eventHighWaterBytes) misses it; its next event of the topic says
   * how many it missed. Returns the number of clients it was sent to.
   */
  publish(topic: string, payload: unknown): number {
    this.counters.eventsPublished++;
    let frame: Buffer | undefined;
    let delivered = 0;
    for (const session of this.sessions) {
      if (!session.topics.has(topic) || session.conn.closed) continue;
      if (session.conn.writableLength > this.eventHighWater) {
        session.dropped.set(topic, (session.dropped.get(topic) ?? 0) + 1);
        this.counters.eventsDropped++;
        continue;
      }
      const dropped = session.dropped.get(topic);
      let bytes: Buffer;
      if (dropped) {
        session.dropped.delete(topic);
        bytes = encodeMessage({ t: 'evt', topic, payload, dropped });
      } else {
        frame ??= encodeMessage({ t: 'evt', topic, payload });
        bytes = frame;
      }
      if (session.conn.send(bytes)) delivered++;
    }
    this.counters.eventsDelivered += delivered;
    return delivered;
  }

  /**
   * Listen. Refuses (ControlSocketInUseError) if a live server answers on the path; a stale socket
   * (nobody answers: its host died without cleaning up) is replaced.
   */
  start(): Promise<void> {
    if (this.stopping) return Promise.reject(new ControlError('control server was stopped; create a new one'));
    this.starting ??= this.doStart();
    return this.starting;
  }

  private async doStart(): Promise<void> {
    const location = serverSocketLocation(this.explicitPath);
    if (location.currentLink) sweepDeadHostSockets(path.dirname(location.socketPath));
    await clearStaleSocket(location.socketPath);
    this.listener = await listenIpc(location.socketPath, (conn) => this.accept(conn), { maxFrameBytes: this.maxFrameBytes });
    this.location = location;
    // An explicit DIRQL_CONTROL_SOCKET may sit in a shared directory: the socket itself is private too.
    fs.chmodSync(location.socketPath, 0o600);
    if (location.currentLink) pointCurrentLink(location.currentLink, location.socketPath);
    process.on('exit', this.onExit);
    log.debug({ socketPath: location.socketPath }, 'control server listening');
  }

  /** Close every client connection, stop listening, remove the socket file and our `current` link. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.starting?.catch(() => undefined);
      if (!this.listener) return;
      await this.listener.close();
      process.off('exit', this.onExit);
      this.removeFilesSync();
      log.debug({ socketPath: this.location?.socketPath }, 'control server stopped');
    })();
    return this.stopping;
  }

  private removeFilesSync(): void {
    if (!this.location) return;
    const { socketPath, currentLink } = this.location;
    if (currentLink) removeCurrentLinkIfOurs(currentLink, socketPath);
    try {
      // libuv unlinks the socket when the server closes; on process exit it never gets the chance.
      if (fs.lstatSync(socketPath).isSocket()) fs.unlinkSync(socketPath);
    } catch {
      // Already removed.
    }
  }

  private accept(conn: IpcConnection): void {
    const session: Session = { id: this.nextSessionId++, conn, helloDone: false, topics: new Set(), dropped: new Map() };
    this.sessions.add(session);
    conn.onFrame = (payload) => this.receive(session, payload);
    conn.onFramingError = (err) => this.reply(session, null, err);
    conn.onClose = () => this.sessions.delete(session);
  }

  private receive(session: Session, payload: Buffer): void {
    this.counters.requests++;
    let request: RequestMessage;
    try {
      request = decodeRequest(payload);
    } catch (err) {
      const id = err instanceof ControlProtocolError && typeof err.context.id === 'number' ? err.context.id : null;
      this.reply(session, id, err);
      return;
    }
    this.dispatch(session, request).then(
      (result) => this.reply(session, request.id, undefined, result),
      (err: unknown) => this.reply(session, request.id, err),
    );
  }

  private async dispatch(session: Session, { method, params }: RequestMessage): Promise<unknown> {
    if (method === 'hello') return this.hello(session, params);
    if (!session.helloDone) {
      throw new ControlProtocolError(`call "hello" before "${method}": the protocol version must be checked first`, {
        reason: 'no hello',
        method,
      });
    }
    if (method === 'subscribe') {
      session.topics.add(requireTopic(params));
      return { topics: [...session.topics].sort() };
    }
    if (method === 'unsubscribe') {
      const topic = requireTopic(params);
      session.topics.delete(topic);
      session.dropped.delete(topic);
      return { topics: [...session.topics].sort() };
    }
    const registration = this.handlers.get(method);
    if (!registration) {
      throw new ControlUnknownMethodError(`the host has no control method "${method}"`, { method, available: this.methods });
    }
    let checked = params;
    if (registration.validate) {
      try {
        checked = registration.validate(params);
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        throw new ControlInvalidParamsError(`invalid params for "${method}": ${why}`, { method }, { cause: err });
      }
    }
    return registration.handler(checked, { method, connectionId: session.id });
  }

  private hello(session: Session, params: unknown): HelloResult {
    const clientProtocol = (params as { protocol?: unknown } | null)?.protocol;
    if (clientProtocol !== PROTOCOL_VERSION) {
      throw new ControlVersionMismatchError(
        `the client speaks control protocol ${JSON.stringify(clientProtocol)}, this host speaks ${PROTOCOL_VERSION}`,
        { clientProtocol: clientProtocol ?? null, hostProtocol: PROTOCOL_VERSION, hostPid: process.pid, driver: this.driver },
      );
    }
    session.helloDone = true;
    return {
      protocol: PROTOCOL_VERSION,
      pid: process.pid,
      driver: this.driver,
      socketPath: this.location?.socketPath ?? '',
      methods: this.methods,
      uptimeMs: Date.now() - this.startedAt,
    };
  }

  private reply(session: Session, id: number | null, err: unknown, result?: unknown): void {
    if (session.conn.closed) return;
    let message: HostMessage = err === undefined ? { t: 'res', id, ok: true, result } : { t: 'res', id, ok: false, error: toWireError(err) };
    let bytes: Buffer;
    try {
      bytes = encodeMessage(message);
    } catch (encodeErr) {
      const why = new ControlProtocolError('the handler returned a value msgpack cannot encode', { reason: 'unencodable result', id }, { cause: encodeErr });
      message = { t: 'res', id, ok: false, error: toWireError(why) };
      bytes = encodeMessage(message);
    }
    if (!message.ok) {
      this.counters.errorReplies++;
      log.debug({ id, error: message.error.name, message: message.error.message }, 'control call failed');
    }
    session.conn.send(bytes);
  }
}

/**
 * Make `socketPath` free to listen on: nothing there, or a socket nobody answers on (removed).
 * A live server, or a file that is not a socket, is left alone and reported.
 */
async function clearStaleSocket(socketPath: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(socketPath);
  } catch {
    return;
  }
  if (!st.isSocket()) {
    throw new ControlSocketPathError(`${socketPath} exists and is not a socket; refusing to replace it`, { socketPath });
  }
  try {
    const probe = await connectIpc(socketPath, { timeoutMs: PROBE_TIMEOUT_MS });
    probe.close();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED') {
      log.info({ socketPath }, 'removing stale control socket');
      fs.unlinkSync(socketPath);
      return;
    }
    if (code === 'ENOENT') return;
    throw new ControlSocketInUseError(`cannot tell whether a host is serving ${socketPath} (${code ?? 'no answer'})`, { socketPath, code }, { cause: err });
  }
  throw new ControlSocketInUseError(`a dirql host is already listening at ${socketPath}`, { socketPath });
}
