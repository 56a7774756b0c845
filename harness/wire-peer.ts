import * as dgram from 'node:dgram';
import { once } from 'node:events';
import { setImmediate as nextLoopTurn, setTimeout as sleep } from 'node:timers/promises';
import { logger } from '../src/util/log.ts';
import { WireClosedError, WireSocketError, WireTimeoutError } from './errors.ts';
import { MAX_FRAME_LENGTH, MAX_JUMBO_FRAME_LENGTH, MIN_FRAME_LENGTH, checkFrameSize } from './ethernet.ts';
import type { FaultPlan } from './faults.ts';
import { PcapWriter, type PcapWriterOptions } from './pcap.ts';
import { ReceivedFrames } from './received-frames.ts';

const log = logger('harness.wire-peer');

/** Largest UDP payload over IPv4: the hard ceiling for a frame on this wire. */
const MAX_UDP_PAYLOAD = 65507;
const DEFAULT_SOCKET_BUFFER_BYTES = 8 * 1024 * 1024;
const DEFAULT_RECEIVE_QUEUE_LIMIT = 65536;

export interface WirePeerOptions {
  /** QEMU's UDP port (netdev dgram `local.port`); may instead be given later to connect(). */
  qemuPort?: number;
  /** Our UDP port (netdev dgram `remote.port`); 0 (default) picks an ephemeral port. */
  port?: number;
  /** IPv4 address for both ends. Default 127.0.0.1. */
  host?: string;
  /** Requested SO_RCVBUF and SO_SNDBUF. Default 8 MiB (the kernel caps it at net.core.[rw]mem_max ×2). */
  socketBufferBytes?: number;
  /** Accept frames up to MAX_JUMBO_FRAME_LENGTH (9018) instead of 1518. */
  allowJumbo?: boolean;
  /** Explicit largest frame accepted by send(); overrides allowJumbo. */
  maxFrameLength?: number;
  /** Faults applied to every frame sent. Can be changed later through `faults`. */
  faults?: FaultPlan;
  /**
   * Received frames kept for nextFrame()/collect() (onFrame listeners see every frame regardless).
   * Beyond the limit new frames are not queued and `receiveQueueDropped` counts them. 0 disables
   * the queue (nothing is kept or counted). Default 65536.
   */
  receiveQueueLimit?: number;
}

export interface WireCounters {
  /** Datagrams handed to the socket (after faults: duplicates count, dropped frames do not). */
  framesSent: number;
  bytesSent: number;
  framesReceived: number;
  bytesReceived: number;
  /** Sends the kernel refused (e.g. ECONNREFUSED while QEMU is not listening). */
  sendErrors: number;
  /** Errors reported by the socket outside a send (e.g. ICMP port unreachable on receive). */
  socketErrors: number;
  /** Received frames not queued because the receive queue was full. */
  receiveQueueDropped: number;
}

export interface SendBatchOptions {
  /**
   * Keep at most this many frames in flight, as measured by `inFlight` (e.g. our framesSent minus
   * what the receiver has taken). Without both, only the local socket queue limits the pace.
   * While the window is full sendBatch sleeps until a wire peer of this process receives a frame
   * or someone calls `notifyProgress()` (do, from a receiver that is not a WirePeer: a host's
   * onReceive), checking again at least every millisecond; it never spins on the event loop.
   */
  maxInFlight?: number;
  inFlight?: () => number;
  /** Wait while the socket's own send queue (libuv, not yet in the kernel) holds this many. Default 1024. */
  maxQueuedSends?: number;
  /**
   * Pace to about this many frames per second (sleeps in >= 1 ms steps, so frames leave in small
   * bursts). For a receiver that gives no feedback, e.g. QEMU without a host-side count.
   */
  framesPerSecond?: number;
  /** Return to the event loop every this many frames so receive listeners run. Default 32. */
  yieldEvery?: number;
  /** Fail with WireTimeoutError if a wait for the window makes no progress this long. Default 10 s. */
  stallTimeoutMs?: number;
  /** Send frames held by the fault plan for reordering at the end. Default true. */
  flushFaults?: boolean;
}

export type CaptureDirection = 'sent' | 'received' | 'both';

export interface CaptureOptions extends PcapWriterOptions {
  /** Classic pcap has no direction field; choose what this file holds. Default 'both'. */
  direction?: CaptureDirection;
}

/** A pcap file being written from a peer's traffic. */
export interface PeerCapture {
  readonly path: string;
  readonly direction: CaptureDirection;
  readonly records: number;
  /** Flush and close the file; the peer stops writing to it. Idempotent. */
  stop(): void;
}

/**
 * sendBatch calls of every peer in this process waiting for their window to open. A frame received
 * by any WirePeer, or notifyProgress(), wakes them all: each checks its own window again.
 */
const windowWaiters = new Set<() => void>();

function wakeWindowWaiters(): void {
  if (windowWaiters.size === 0) return;
  const waiting = [...windowWaiters];
  windowWaiters.clear();
  for (const wake of waiting) wake();
}

/** Longest a full window sleeps before it is checked again without being woken. */
const WINDOW_POLL_MS = 1;

/**
 * The other end of QEMU's virtual wire: a UDP socket on which every datagram is one Ethernet frame
 * (QEMU `-netdev dgram`). Its 'message' listener drains the socket on every event-loop turn; keep
 * the loop free (sendBatch yields) or the kernel drops datagrams once SO_RCVBUF is full.
 */
export class WirePeer {
  readonly host: string;
  readonly port: number;
  /** SO_RCVBUF / SO_SNDBUF the kernel actually granted. */
  readonly receiveBufferBytes: number;
  readonly sendBufferBytes: number;
  readonly maxFrameLength: number;
  faults: FaultPlan | undefined;

  private remotePort: number | undefined;
  private readonly socket: dgram.Socket;
  private readonly stats: WireCounters = {
    framesSent: 0,
    bytesSent: 0,
    framesReceived: 0,
    bytesReceived: 0,
    sendErrors: 0,
    socketErrors: 0,
    receiveQueueDropped: 0,
  };
  private lastError: Error | undefined;
  private readonly listeners = new Set<(frame: Buffer) => void>();
  private readonly received: ReceivedFrames;
  private readonly captures = new Set<{ writer: PcapWriter; direction: CaptureDirection }>();
  private isClosed = false;
  private readonly wireSend = (frame: Buffer) => this.transmit(frame);
  private readonly afterSend = (err: Error | null) => {
    if (err) {
      this.stats.sendErrors++;
      this.lastError = err;
      log.debug({ err }, 'send failed');
    }
  };

  private constructor(socket: dgram.Socket, options: WirePeerOptions) {
    this.socket = socket;
    this.host = options.host ?? '127.0.0.1';
    this.port = socket.address().port;
    this.remotePort = options.qemuPort;
    this.receiveBufferBytes = socket.getRecvBufferSize();
    this.sendBufferBytes = socket.getSendBufferSize();
    this.maxFrameLength = options.maxFrameLength ?? (options.allowJumbo ? MAX_JUMBO_FRAME_LENGTH : MAX_FRAME_LENGTH);
    this.received = new ReceivedFrames(this.port, options.receiveQueueLimit ?? DEFAULT_RECEIVE_QUEUE_LIMIT, () => this.stats.receiveQueueDropped++);
    this.faults = options.faults;
    socket.on('message', (msg) => this.receive(msg));
  }

  /** Bind (and, given qemuPort, connect) a peer. */
  static async open(options: WirePeerOptions = {}): Promise<WirePeer> {
    const host = options.host ?? '127.0.0.1';
    const bufferBytes = options.socketBufferBytes ?? DEFAULT_SOCKET_BUFFER_BYTES;
    const maxFrameLength = options.maxFrameLength;
    if (maxFrameLength !== undefined && !(maxFrameLength >= 14 && maxFrameLength <= MAX_UDP_PAYLOAD)) {
      throw new WireSocketError('maxFrameLength must be within 14..65507', { maxFrameLength });
    }
    const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: bufferBytes, sendBufferSize: bufferBytes });
    // Until the peer exists, a bind failure arrives as an 'error' event.
    const pendingMessages: Buffer[] = [];
    const early = (msg: Buffer) => pendingMessages.push(msg);
    socket.on('message', early);
    try {
      socket.bind(options.port ?? 0, host);
      await once(socket, 'listening');
    } catch (cause) {
      socket.close();
      throw new WireSocketError(`cannot bind UDP ${host}:${options.port ?? 0}`, { host, port: options.port }, { cause });
    }
    const peer = new WirePeer(socket, { ...options, host });
    socket.off('message', early);
    socket.on('error', (err) => peer.socketError(err));
    for (const msg of pendingMessages) peer.receive(msg);
    if (options.qemuPort !== undefined) await peer.connect(options.qemuPort);
    log.debug({ port: peer.port, qemuPort: options.qemuPort, rcvbuf: peer.receiveBufferBytes }, 'wire peer open');
    return peer;
  }

  /** Two peers connected to each other: the harness's own loopback wire, for tests. */
  static async pair(options: Omit<WirePeerOptions, 'qemuPort' | 'port'> = {}): Promise<[WirePeer, WirePeer]> {
    const a = await WirePeer.open(options);
    const b = await WirePeer.open({ ...options, qemuPort: a.port });
    await a.connect(b.port);
    return [a, b];
  }

  /**
   * Fix the remote end: datagrams go to it, and the kernel delivers only datagrams from it
   * (a connected UDP socket), so stray traffic on our port never looks like a frame.
   */
  async connect(qemuPort: number): Promise<void> {
    this.assertOpen('connect');
    // remoteAddress() throws ERR_SOCKET_DGRAM_NOT_CONNECTED while unconnected.
    const connected = (() => {
      try {
        this.socket.remoteAddress();
        return true;
      } catch {
        return false;
      }
    })();
    if (connected) this.socket.disconnect();
    try {
      this.socket.connect(qemuPort, this.host);
      await once(this.socket, 'connect');
    } catch (cause) {
      throw new WireSocketError(`cannot connect to UDP ${this.host}:${qemuPort}`, { qemuPort }, { cause });
    }
    this.remotePort = qemuPort;
  }

  /** QEMU's port, once known. */
  get qemuPort(): number | undefined {
    return this.remotePort;
  }

  get counters(): Readonly<WireCounters> {
    return { ...this.stats };
  }

  /** The last send or socket error, for diagnostics. */
  get lastSocketError(): Error | undefined {
    return this.lastError;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Frames waiting for nextFrame()/collect(). */
  get queued(): number {
    return this.received.queued;
  }

  /**
   * Send one frame (through the fault plan, if any). Throws FrameSizeError for a frame shorter than
   * an Ethernet header or longer than maxFrameLength. The socket may keep a reference to the buffer
   * until the datagram has left: do not modify it afterwards.
   */
  send(frame: Uint8Array): void {
    this.assertSendable();
    checkFrameSize(frame, this.maxFrameLength);
    const buf = Buffer.isBuffer(frame) ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.length);
    if (this.faults) this.faults.process(buf, this.wireSend);
    else this.transmit(buf);
  }

  /**
   * Send frames in order, pacing by an in-flight window and the socket queue, yielding to the event
   * loop so receivers keep draining. Every frame is size-checked before the first is sent.
   * Resolves with the number of frames given to send().
   */
  async sendBatch(frames: readonly Uint8Array[], options: SendBatchOptions = {}): Promise<number> {
    this.assertSendable();
    for (const f of frames) checkFrameSize(f, this.maxFrameLength);
    const yieldEvery = Math.max(1, options.yieldEvery ?? 32);
    const maxQueued = options.maxQueuedSends ?? 1024;
    const { maxInFlight, inFlight } = options;
    const windowFull = (): boolean => this.socket.getSendQueueCount() >= maxQueued || (maxInFlight !== undefined && inFlight !== undefined && inFlight() >= maxInFlight);
    const rate = options.framesPerSecond;
    const started = performance.now();
    let sent = 0;
    for (const frame of frames) {
      if (windowFull()) await this.waitForWindow(windowFull, inFlight, options.stallTimeoutMs ?? 10_000, sent);
      if (rate !== undefined && rate > 0) {
        const ahead = started + (sent * 1000) / rate - performance.now();
        if (ahead >= 1) await sleep(ahead);
        this.assertSendable();
      }
      this.send(frame);
      sent++;
      if (sent % yieldEvery === 0) await nextLoopTurn();
    }
    if (options.flushFaults ?? true) this.flushFaults();
    return sent;
  }

  /**
   * The receiver took frames: a sendBatch waiting for its in-flight window checks it again now
   * rather than at its next millisecond poll. Receivers that are wire peers need not call it.
   */
  notifyProgress(): void {
    wakeWindowWaiters();
  }

  /** Send frames the fault plan holds for reordering. */
  flushFaults(): void {
    if (this.faults && !this.isClosed) this.faults.flush(this.wireSend);
  }

  /** Call `listener` for every received frame; returns an unsubscribe function. */
  onFrame(listener: (frame: Buffer) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The next received frame (queued ones first). Rejects with WireTimeoutError or WireClosedError. */
  async nextFrame(timeoutMs: number): Promise<Buffer> {
    const [frame] = await this.collect(1, timeoutMs);
    return frame!;
  }

  /**
   * The next `count` received frames in arrival order. On timeout rejects with WireTimeoutError
   * whose `frames` holds those that did arrive (they are not returned to the queue).
   */
  collect(count: number, timeoutMs: number): Promise<Buffer[]> {
    if (this.isClosed) return Promise.reject(new WireClosedError('wire peer is closed', { port: this.port }));
    return this.received.collect(count, timeoutMs);
  }

  /** Forget queued received frames; returns how many. */
  clearQueue(): number {
    return this.received.clear();
  }

  /** Write traffic to a classic pcap file from now on. */
  capture(path: string, options: CaptureOptions = {}): PeerCapture {
    this.assertOpen('capture');
    const direction = options.direction ?? 'both';
    const entry = { writer: new PcapWriter(path, options), direction };
    this.captures.add(entry);
    return {
      path,
      direction,
      get records() {
        return entry.writer.records;
      },
      stop: () => {
        this.captures.delete(entry);
        entry.writer.close();
      },
    };
  }

  /** Close the socket, stop captures, discard held faults, reject waiters. Idempotent. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.faults?.cancel();
    this.received.close();
    for (const c of this.captures) c.writer.close();
    this.captures.clear();
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
    log.debug({ port: this.port, counters: this.stats }, 'wire peer closed');
  }

  private transmit(frame: Buffer): void {
    if (this.isClosed) return; // a delayed fault firing after close
    // The last gate before the socket: QEMU 7.2 stops reading its netdev after a zero-length datagram.
    if (frame.length < MIN_FRAME_LENGTH) checkFrameSize(frame, this.maxFrameLength);
    for (const c of this.captures) if (c.direction !== 'received') c.writer.write(frame);
    this.stats.framesSent++;
    this.stats.bytesSent += frame.length;
    this.socket.send(frame, this.afterSend);
  }

  private receive(frame: Buffer): void {
    this.stats.framesReceived++;
    wakeWindowWaiters();
    this.stats.bytesReceived += frame.length;
    for (const c of this.captures) if (c.direction !== 'sent') c.writer.write(frame);
    for (const l of this.listeners) l(frame);
    this.received.push(frame);
  }

  private socketError(err: Error): void {
    this.stats.socketErrors++;
    this.lastError = err;
    log.debug({ err }, 'socket error');
  }

  private async waitForWindow(full: () => boolean, inFlight: (() => number) | undefined, stallTimeoutMs: number, sent: number): Promise<void> {
    // Sleep until woken (a frame received by a peer of this process, notifyProgress()) or the
    // poll interval passes: no event-loop spinning, which would take the CPU from QEMU.
    const level = () => `${inFlight?.()}/${this.socket.getSendQueueCount()}`;
    let lastLevel = level();
    let lastProgress = Date.now();
    while (full()) {
      if (this.isClosed) throw new WireClosedError('wire peer closed during sendBatch', { port: this.port, sent });
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          windowWaiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, WINDOW_POLL_MS);
        windowWaiters.add(wake);
      });
      const now = level();
      if (now !== lastLevel) {
        lastLevel = now;
        lastProgress = Date.now();
      } else if (Date.now() - lastProgress > stallTimeoutMs) {
        throw new WireTimeoutError(`send window made no progress for ${stallTimeoutMs} ms`, {
          port: this.port,
          sent,
          inFlight: inFlight?.(),
          queuedSends: this.socket.getSendQueueCount(),
        });
      }
    }
  }

  private assertOpen(operation: string): void {
    if (this.isClosed) throw new WireClosedError(`${operation} on a closed wire peer`, { port: this.port, operation });
  }

  private assertSendable(): void {
    this.assertOpen('send');
    if (this.remotePort === undefined) {
      throw new WireSocketError('wire peer has no QEMU port yet: call connect(qemuPort)', { port: this.port });
    }
  }
}
