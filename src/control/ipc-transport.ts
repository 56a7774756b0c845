/**
 * The only module that touches node-ipc. node-ipc is pinned to exactly 9.2.1: later releases of
 * the package shipped malicious code, so it is confined to the control plane and wrapped here.
 *
 * How 9.2.1 is used, and why:
 * - It is CommonJS and exports a singleton; `.IPC` is its class, so every listener and connection
 *   gets its own instance and config (no shared global state between a server and a client in one
 *   process).
 * - `rawBuffer: true` hands us the bytes instead of its JSON-with-'\f'-delimiter messages (which
 *   cannot carry binary). It still runs every chunk through `socket.setEncoding()` and
 *   `Buffer.from(string, encoding)`: with `latin1` each byte maps to one char, so any byte value
 *   survives and a chunk may end anywhere (with `utf8` binary would be mangled).
 * - Raw chunks coalesce and split like any stream, so payloads travel in length-prefixed frames
 *   (framing.ts).
 * - `unlink: false`: node-ipc would otherwise delete the socket file before listening, even one a
 *   live host is serving on. The server probes and decides itself.
 * - `maxRetries: 0, stopRetrying: true`: its client otherwise reconnects forever every 500 ms.
 * - `silent: true` unless our logger is at trace level, where its lines go to pino.
 * - Its event emitter calls handlers synchronously from socket callbacks and does not catch:
 *   everything we hand it is wrapped so a throwing handler cannot become an uncaught exception.
 */
import type net from 'node:net';
import ipcModule from 'node-ipc';
import { logger } from '../util/log.ts';
import { ControlProtocolError } from './errors.ts';
import { DEFAULT_MAX_FRAME_BYTES, FrameDecoder, encodeFrame } from './framing.ts';

const log = logger('control.ipc');

// node-ipc's events carry different payloads; each listener declares its own (never[] accepts them all).
type Handler = (...args: never[]) => void;

interface NodeIpcConfig {
  silent: boolean;
  logger: (line: string) => void;
  rawBuffer: boolean;
  encoding: string;
  unlink: boolean;
  maxRetries: number;
  stopRetrying: boolean;
  maxConnections: number;
}
interface NodeIpcServer {
  on(event: string, handler: Handler): void;
  start(): void;
  stop(): void;
  emit(socket: net.Socket, data: Buffer): void;
  server: net.Server | false;
}
interface NodeIpcClient {
  on(event: string, handler: Handler): void;
  emit(data: Buffer): void;
  socket: net.Socket | false;
}
interface NodeIpc {
  config: NodeIpcConfig;
  server: NodeIpcServer;
  of: Record<string, NodeIpcClient | undefined>;
  serve(path: string, onStart: () => void): void;
  connectTo(id: string, path: string): void;
  disconnect(id: string): void;
}

function createIpc(): NodeIpc {
  const mod = ipcModule as unknown as { default?: { IPC: new () => NodeIpc }; IPC?: new () => NodeIpc };
  const IPC = mod.IPC ?? mod.default?.IPC;
  if (typeof IPC !== 'function') throw new Error('node-ipc did not export its IPC class (expected node-ipc 9.2.1)');
  const ipc = new IPC();
  ipc.config.silent = !log.isLevelEnabled('trace');
  ipc.config.logger = (line) => log.trace(line);
  ipc.config.rawBuffer = true;
  ipc.config.encoding = 'latin1';
  ipc.config.unlink = false;
  ipc.config.maxRetries = 0;
  ipc.config.stopRetrying = true;
  // node-ipc's default is 100; the server sheds connections that never say hello (server.ts), so
  // this is only the ceiling for real clients.
  ipc.config.maxConnections = 256;
  return ipc;
}

/** One framed, bidirectional control connection (either end). */
export class IpcConnection {
  /** A complete payload arrived. */
  onFrame: (payload: Buffer) => void = () => {};
  /** The byte stream broke framing; the connection is closed right after this returns. */
  onFramingError: (err: ControlProtocolError) => void = () => {};
  /** The connection is gone (either side closed it, or the socket failed: err). Called once. */
  onClose: (err?: Error) => void = () => {};

  private readonly decoder: FrameDecoder;
  private isClosed = false;

  constructor(
    private readonly write: (frame: Buffer) => void,
    private readonly socket: net.Socket,
    private readonly teardown: () => void,
    maxFrameBytes: number,
  ) {
    this.decoder = new FrameDecoder({ maxFrameBytes });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Bytes received that do not make a complete message yet. */
  get buffered(): number {
    return this.decoder.buffered;
  }

  /** Bytes queued in the socket that the peer has not read yet. */
  get writableLength(): number {
    return this.socket.writableLength;
  }

  /** Frame and send one payload. Returns false (and sends nothing) once the connection is closed. */
  send(payload: Uint8Array): boolean {
    if (this.isClosed || this.socket.destroyed) return false;
    this.write(encodeFrame(payload));
    return true;
  }

  /** Stop reading (the peer's writes back up into its socket buffer); resume() undoes it. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Flush what was sent, then close; destroy if the peer does not finish within graceMs. */
  end(graceMs = 1000): void {
    if (this.isClosed) return;
    this.socket.end();
    setTimeout(() => this.close(), graceMs).unref();
  }

  /** Close at once; unsent data is dropped. */
  close(): void {
    if (this.isClosed) return;
    this.teardown();
  }

  /** @internal node-ipc delivered a chunk. */
  receive(chunk: Buffer): void {
    try {
      this.decoder.push(chunk, (payload) => this.guard('onFrame', () => this.onFrame(payload)));
    } catch (err) {
      this.guard('onFramingError', () => this.onFramingError(err as ControlProtocolError));
      this.end();
    }
  }

  /** @internal the socket closed. */
  closed_(err?: Error): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.guard('onClose', () => this.onClose(err));
  }

  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      log.error({ err }, `control connection ${what} handler threw`);
    }
  }
}

export interface IpcListener {
  readonly socketPath: string;
  /** Close every connection, stop listening; the socket file is removed (libuv unlinks it on close). */
  close(): Promise<void>;
}

/** Listen on a unix socket; resolves once listening, rejects with the listen error (EADDRINUSE, EACCES…). */
export function listenIpc(socketPath: string, onConnection: (conn: IpcConnection) => void, opts: { maxFrameBytes?: number } = {}): Promise<IpcListener> {
  const maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const ipc = createIpc();
  const connections = new Map<net.Socket, IpcConnection>();
  let started = false;
  let closing: Promise<void> | undefined;

  const listener: IpcListener = {
    socketPath,
    close() {
      closing ??= new Promise<void>((resolve) => {
        const netServer = ipc.server.server;
        for (const socket of connections.keys()) socket.destroy();
        if (!netServer || !netServer.listening) return resolve();
        netServer.once('close', () => resolve());
        ipc.server.stop();
      });
      return closing;
    },
  };

  return new Promise<IpcListener>((resolve, reject) => {
    ipc.serve(socketPath, () => {
      started = true;
      resolve(listener);
    });
    const server = ipc.server;
    server.on('error', (err: Error) => {
      if (!started) reject(err);
      else log.debug({ err }, 'control socket error');
    });
    server.on('connect', (socket: net.Socket) => {
      if (closing) {
        socket.destroy();
        return;
      }
      const conn = new IpcConnection(
        (frame) => server.emit(socket, frame),
        socket,
        () => socket.destroy(),
        maxFrameBytes,
      );
      connections.set(socket, conn);
      let socketError: Error | undefined;
      socket.on('error', (err) => {
        socketError = err;
      });
      socket.on('close', () => {
        connections.delete(socket);
        conn.closed_(socketError);
      });
      try {
        onConnection(conn);
      } catch (err) {
        log.error({ err }, 'control connection handler threw');
        socket.destroy();
      }
    });
    server.on('data', (chunk: Buffer, socket: net.Socket) => connections.get(socket)?.receive(chunk));
    server.start();
  });
}

/**
 * Connect to a unix socket. Rejects with the socket error (ENOENT, ECONNREFUSED…) or, after
 * timeoutMs, with an Error whose code is 'ETIMEDOUT'.
 */
export function connectIpc(socketPath: string, opts: { maxFrameBytes?: number; timeoutMs?: number } = {}): Promise<IpcConnection> {
  const maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const ipc = createIpc();
  const id = 'dirql-host';
  ipc.connectTo(id, socketPath);
  const client = ipc.of[id]!;
  return new Promise<IpcConnection>((resolve, reject) => {
    let conn: IpcConnection | undefined;
    let lastError: Error | undefined;
    const fail = (err: Error) => {
      clearTimeout(timer);
      ipc.disconnect(id);
      reject(err);
    };
    const timer = setTimeout(() => {
      fail(Object.assign(new Error(`connect to ${socketPath} timed out after ${opts.timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, opts.timeoutMs ?? 5000);
    client.on('connect', () => {
      clearTimeout(timer);
      const socket = client.socket as net.Socket;
      conn = new IpcConnection(
        (frame) => client.emit(frame),
        socket,
        () => ipc.disconnect(id),
        maxFrameBytes,
      );
      resolve(conn);
    });
    client.on('data', (chunk: Buffer) => conn?.receive(chunk));
    client.on('error', (err: Error) => {
      if (conn) lastError = err;
      else fail(err);
    });
    client.on('disconnect', () => conn?.closed_(lastError));
  });
}
