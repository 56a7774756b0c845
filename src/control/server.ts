import fs from 'node:fs';
import path from 'node:path';
import { logger } from '../util/log.ts';
import { ControlError, ControlInvalidParamsError, ControlProtocolError, ControlUnknownMethodError, ControlVersionMismatchError } from './errors.ts';
import { listenIpc, type IpcConnection, type IpcListener } from './ipc-transport.ts';
import { BUILTIN_METHODS, PROTOCOL_VERSION, decodeRequest, encodeMessage, toWireError, type HelloResult, type HostMessage, type RequestMessage } from './protocol.ts';
import { ControlTopics } from './methods.ts';
import { clearStaleSocket } from './stale-socket.ts';
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
  /** Topics this server publishes; subscribing to any other is refused. Default: every ControlTopics name. */
  topics?: readonly string[];
  /** A connection that has not completed `hello` by then is closed (it holds a slot). Default 5,000 ms. */
  helloTimeoutMs?: number;
  /** A client that sends nothing and watches no topic for this long is closed. Default 600,000 ms; 0 never. */
  idleTimeoutMs?: number;
  /** A message that stays half-sent this long is dropped with its connection. Default 10,000 ms. */
  partialFrameTimeoutMs?: number;
  /**
   * Connections still before `hello` at most; a new one beyond it closes the oldest of them, so
   * idle or hostile connections cannot lock the CLI out. Default 16.
   */
  maxPendingHello?: number;
}

export interface ControlServerStats {
  connections: number;
  requests: number;
  errorReplies: number;
  eventsPublished: number;
  eventsDelivered: number;
  eventsDropped: number;
  /** Connections closed for a missing hello, idleness or a half-sent message. */
  connectionsTimedOut: number;
  /** Connections closed before hello to make room for a new one (maxPendingHello). */
  connectionsShed: number;
}

interface Registration {
  handler: ControlHandler;
  validate: ((params: unknown) => unknown) | undefined;
}

interface Session {
  id: number;
  conn: IpcConnection;
  helloDone: boolean;
  /** performance.now() of the connection, and of its last complete message. */
  openedAt: number;
  lastMessageAt: number;
  topics: Set<string>;
  /** Per topic, events not delivered since the last delivery. */
  dropped: Map<string, number>;
}

const DEFAULT_EVENT_HIGH_WATER = 8 * 1024 * 1024;
const DEFAULT_HELLO_TIMEOUT_MS = 5_000;
const DEFAULT_IDLE_TIMEOUT_MS = 600_000;
const DEFAULT_PARTIAL_FRAME_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_PENDING_HELLO = 16;

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
  private readonly topicNames: Set<string>;
  private readonly timeouts: { hello: number; idle: number; partial: number };
  private readonly maxPendingHello: number;
  private sweeper: NodeJS.Timeout | undefined;
  private readonly counters = {
    requests: 0,
    errorReplies: 0,
    eventsPublished: 0,
    eventsDelivered: 0,
    eventsDropped: 0,
    connectionsTimedOut: 0,
    connectionsShed: 0,
  };
  private readonly onExit = () => this.removeFilesSync();

  constructor(opts: ControlServerOptions = {}) {
    this.explicitPath = opts.socketPath;
    this.driver = opts.driver ?? 'none';
    this.eventHighWater = opts.eventHighWaterBytes ?? DEFAULT_EVENT_HIGH_WATER;
    this.maxFrameBytes = opts.maxFrameBytes;
    this.topicNames = new Set(opts.topics ?? Object.values(ControlTopics));
    this.timeouts = {
      hello: opts.helloTimeoutMs ?? DEFAULT_HELLO_TIMEOUT_MS,
      idle: opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      partial: opts.partialFrameTimeoutMs ?? DEFAULT_PARTIAL_FRAME_TIMEOUT_MS,
    };
    this.maxPendingHello = Math.max(1, opts.maxPendingHello ?? DEFAULT_MAX_PENDING_HELLO);
  }

  /** The topics clients may subscribe to, sorted. */
  get topics(): string[] {
    return [...this.topicNames].sort();
  }

  /** Clients subscribed to `topic` now (a publisher can skip building a payload nobody reads). */
  subscribers(topic: string): number {
    let n = 0;
    for (const session of this.sessions) if (session.topics.has(topic) && !session.conn.closed) n++;
    return n;
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
    if (!this.topicNames.has(topic)) throw new ControlError(`"${topic}" is not a topic of this control server`, { topic, topics: this.topics });
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
    const every = Math.max(20, Math.min(1000, ...[this.timeouts.hello, this.timeouts.partial, this.timeouts.idle].filter((t) => t > 0).map((t) => t / 4)));
    this.sweeper = setInterval(() => this.sweep(), every);
    this.sweeper.unref();
    log.debug({ socketPath: location.socketPath }, 'control server listening');
  }

  /** Close every client connection, stop listening, remove the socket file and our `current` link. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.starting?.catch(() => undefined);
      if (!this.listener) return;
      clearInterval(this.sweeper);
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
    const now = performance.now();
    const session: Session = { id: this.nextSessionId++, conn, helloDone: false, openedAt: now, lastMessageAt: now, topics: new Set(), dropped: new Map() };
    this.shedPendingHello();
    this.sessions.add(session);
    conn.onFrame = (payload) => {
      session.lastMessageAt = performance.now();
      this.receive(session, payload);
    };
    conn.onFramingError = (err) => this.reply(session, null, err);
    conn.onClose = () => this.sessions.delete(session);
  }

  /** Before a new connection joins: at most maxPendingHello - 1 others may still be waiting for hello. */
  private shedPendingHello(): void {
    const pending = [...this.sessions].filter((s) => !s.helloDone && !s.conn.closed);
    for (const s of pending.slice(0, Math.max(0, pending.length - this.maxPendingHello + 1))) {
      this.counters.connectionsShed++;
      this.drop(s, 'too many connections before hello: the oldest makes room', { maxPendingHello: this.maxPendingHello });
    }
  }

  /** Close connections that hold a slot for nothing: no hello, idle, or a message left half-sent. */
  private sweep(): void {
    const now = performance.now();
    const { hello, idle, partial } = this.timeouts;
    for (const s of this.sessions) {
      if (s.conn.closed) continue;
      let why: string | undefined;
      if (!s.helloDone && hello > 0 && now - s.openedAt > hello) why = `no hello within ${hello} ms`;
      else if (s.conn.buffered > 0 && partial > 0 && now - s.lastMessageAt > partial) why = `a message left half-sent for ${partial} ms`;
      else if (s.helloDone && s.topics.size === 0 && idle > 0 && now - s.lastMessageAt > idle) why = `idle for ${idle} ms`;
      if (why === undefined) continue;
      this.counters.connectionsTimedOut++;
      this.drop(s, why, { helloTimeoutMs: hello, partialFrameTimeoutMs: partial, idleTimeoutMs: idle });
    }
  }

  /** Tell the client why (an error reply with id null), then close its connection. */
  private drop(session: Session, why: string, context: Record<string, unknown>): void {
    log.debug({ connection: session.id, why }, 'control connection closed');
    this.reply(session, null, new ControlProtocolError(`control connection closed: ${why}`, { reason: 'connection closed', ...context }));
    session.conn.end();
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
      const topic = requireTopic(params);
      if (!this.topicNames.has(topic)) {
        throw new ControlInvalidParamsError(`the host publishes no topic "${topic}"`, { topic, available: this.topics });
      }
      session.topics.add(topic);
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
      throw new ControlVersionMismatchError(`the client speaks control protocol ${JSON.stringify(clientProtocol)}, this host speaks ${PROTOCOL_VERSION}`, {
        clientProtocol: clientProtocol ?? null,
        hostProtocol: PROTOCOL_VERSION,
        hostPid: process.pid,
        driver: this.driver,
      });
    }
    session.helloDone = true;
    return {
      protocol: PROTOCOL_VERSION,
      pid: process.pid,
      driver: this.driver,
      socketPath: this.location?.socketPath ?? '',
      methods: this.methods,
      topics: this.topics,
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
