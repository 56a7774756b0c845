import { WireTimeoutError } from './errors.ts';
import { FaultPlan, type FaultCounts, type FaultPlanOptions } from './faults.ts';
import { FrameVerifier, TrafficGenerator, type FrameSizeSpec, type VerifierCounters } from './traffic.ts';
import { WirePeer, type CaptureDirection, type WireCounters } from './wire-peer.ts';

/** One run of the peer against a live host: send a test stream, verify what comes back. */
export interface PeerSessionOptions {
  qemuPort: number;
  /** Our UDP port: the host's `wire.peerPort` (QEMU sends there). Default 0 (ephemeral). */
  port?: number;
  /** Test frames to send. Default 0 (receive only). */
  send?: number;
  size?: FrameSizeSpec;
  seed?: number;
  stream?: number;
  dst?: string;
  src?: string;
  allowJumbo?: boolean;
  framesPerSecond?: number;
  /** Keep at most this many of our frames unanswered (for a host that sends every frame back). */
  window?: number;
  /** Write both directions to this classic pcap file. */
  pcap?: string;
  pcapDirection?: CaptureDirection;
  /**
   * Test frames of our stream that must come back: receiving stops once they did, and whatever did
   * not arrive is lost (a stream that never arrives at all too). Default: `send` when sending (a
   * host that sends every frame back, `--echo`); 0 to expect nothing back.
   */
  expect?: number;
  /** Stop receiving after this long without a frame (counted from the end of sending). Default 1000. */
  idleMs?: number;
  /** Stop receiving this long after the start, whatever else happens. */
  durationMs?: number;
  faults?: FaultPlanOptions;
  signal?: AbortSignal;
}

export interface PeerSessionReport {
  port: number;
  qemuPort: number;
  receiveBufferBytes: number;
  /** Test frames given to the peer (before faults). */
  generated: number;
  wire: WireCounters;
  /** Frames of `stream` judged against: `expect`, or by default `send` (see PeerSessionOptions.expect). */
  expected?: number;
  stream: number;
  /** Verdict on frames received; `lost` includes frames of the expected count that never arrived. */
  received: VerifierCounters;
  faults?: FaultCounts;
  /** The send window stopped moving (frames not coming back); sending ended early. */
  stalled: boolean;
  stoppedBy: 'expect' | 'idle' | 'duration' | 'signal';
  sendMs: number;
  elapsedMs: number;
}

export async function runPeerSession(options: PeerSessionOptions): Promise<PeerSessionReport> {
  const started = performance.now();
  const faults = options.faults ? new FaultPlan(options.faults) : undefined;
  const peer = await WirePeer.open({
    qemuPort: options.qemuPort,
    port: options.port ?? 0,
    allowJumbo: options.allowJumbo ?? false,
    faults,
    receiveQueueLimit: 0,
  });
  const count = options.send ?? 0;
  const stream = options.stream ?? 0;
  const expected = options.expect ?? (count > 0 ? count : undefined);
  try {
    const capture = options.pcap ? peer.capture(options.pcap, { direction: options.pcapDirection ?? 'both' }) : undefined;
    const verifier = new FrameVerifier();
    const stopped = receiveUntilDone(peer, verifier, { ...options, expect: expected }, started);
    let stalled = false;
    const sendStart = performance.now();
    if (count > 0) {
      const frames = new TrafficGenerator({
        size: options.size ?? 'mixed',
        seed: options.seed ?? 1,
        stream,
        ...(options.dst ? { dst: options.dst } : {}),
        ...(options.src ? { src: options.src } : {}),
      }).take(count);
      try {
        await peer.sendBatch(frames, {
          ...(options.framesPerSecond ? { framesPerSecond: options.framesPerSecond } : {}),
          ...(options.window ? { maxInFlight: options.window, inFlight: () => peer.counters.framesSent - peer.counters.framesReceived, stallTimeoutMs: 2000 } : {}),
        });
      } catch (err) {
        if (!(err instanceof WireTimeoutError)) throw err;
        stalled = true;
      }
    }
    const sendMs = performance.now() - sendStart;
    stopped.sendingDone();
    const stoppedBy = await stopped.done;
    capture?.stop();
    return {
      port: peer.port,
      qemuPort: options.qemuPort,
      receiveBufferBytes: peer.receiveBufferBytes,
      generated: count,
      wire: peer.counters,
      ...(expected !== undefined ? { expected } : {}),
      stream,
      received: judge(verifier, expected, stream, count > 0),
      ...(faults ? { faults: { ...faults.counts } } : {}),
      stalled,
      stoppedBy,
      sendMs,
      elapsedMs: performance.now() - started,
    };
  } finally {
    await peer.close();
  }
}

function receiveUntilDone(
  peer: WirePeer,
  verifier: FrameVerifier,
  options: PeerSessionOptions,
  started: number,
): { done: Promise<PeerSessionReport['stoppedBy']>; sendingDone: () => void } {
  const idleMs = options.idleMs ?? 1000;
  let sending = true;
  let finish!: (why: PeerSessionReport['stoppedBy']) => void;
  let idle: NodeJS.Timeout | undefined;
  const done = new Promise<PeerSessionReport['stoppedBy']>((resolve) => {
    finish = resolve;
  });
  const armIdle = () => {
    clearTimeout(idle);
    idle = setTimeout(() => finish('idle'), idleMs);
  };
  const unsubscribe = peer.onFrame((frame) => {
    verifier.accept(frame);
    const c = verifier.counters;
    if (options.expect !== undefined && c.ok + c.corrupted >= options.expect) finish('expect');
    else if (!sending) armIdle();
  });
  const duration = options.durationMs !== undefined ? setTimeout(() => finish('duration'), Math.max(0, options.durationMs - (performance.now() - started))) : undefined;
  const onAbort = () => finish('signal');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) finish('signal');
  // Clean-up when the session ends; the caller awaits `done` itself.
  void done.then(() => {
    unsubscribe();
    clearTimeout(idle);
    clearTimeout(duration);
    options.signal?.removeEventListener('abort', onAbort);
  });
  return {
    done,
    sendingDone: () => {
      sending = false;
      const c = verifier.counters;
      if (options.expect !== undefined && c.ok + c.corrupted >= options.expect) finish('expect');
      else armIdle();
    },
  };
}

/**
 * The verdict. Sending: our stream must come back, `expected` frames of it (keyed by stream, so a
 * stream of which nothing came back counts every frame lost). Receive only: each stream that came is
 * judged by `expected`, and if none came at all, `expected` frames are lost.
 */
function judge(verifier: FrameVerifier, expected: number | undefined, stream: number, sending: boolean): VerifierCounters {
  if (expected === undefined) return verifier.summary();
  if (sending || verifier.streams().length === 0) return verifier.summary(new Map([[stream, expected]]));
  return verifier.summary(expected);
}

/** A verdict is clean when nothing was lost, corrupted or duplicated and sending did not stall. */
export function sessionClean(report: PeerSessionReport): boolean {
  const r = report.received;
  return !report.stalled && r.lost === 0 && r.corrupted === 0 && r.duplicated === 0 && report.wire.sendErrors === 0;
}

export function formatReport(r: PeerSessionReport): string {
  const w = r.wire;
  const v = r.received;
  const lines = [
    `peer 127.0.0.1:${r.port} <-> qemu 127.0.0.1:${r.qemuPort}  (SO_RCVBUF ${r.receiveBufferBytes} bytes)`,
    `sent      ${w.framesSent} frames, ${w.bytesSent} bytes in ${r.sendMs.toFixed(1)} ms (${r.generated} generated)${r.stalled ? '  STALLED' : ''}`,
    `received  ${w.framesReceived} frames, ${w.bytesReceived} bytes; stopped by ${r.stoppedBy} after ${r.elapsedMs.toFixed(0)} ms`,
    `expected  ${r.expected === undefined ? 'nothing (receive only: no frame is judged lost)' : `${r.expected} frames of stream ${r.stream}`}`,
    `verified  ok ${v.ok}  lost ${v.lost}  reordered ${v.reordered}  duplicated ${v.duplicated}  corrupted ${v.corrupted}  foreign ${v.foreign}`,
    `errors    send ${w.sendErrors}  socket ${w.socketErrors}`,
  ];
  if (r.faults) {
    const f = r.faults;
    lines.push(`faults    offered ${f.offered}  dropped ${f.dropped}  corrupted ${f.corrupted}  duplicated ${f.duplicated}  reordered ${f.reordered}  delayed ${f.delayed}`);
  }
  return lines.join('\n');
}
