/**
 * Record and replay (src/record, dirql issue 14), two figures:
 *
 * - Replay speed: a real-QEMU NDIS 6 session of `--frames` frames (default 10,000: half TX from
 *   the host through the e1000 to a wire peer, half RX from the peer to the host), recorded; then
 *   `replay()` of that file (REPLAY, no QEMU). Reports the recorded session's duration, the
 *   replay's, their ratio (target >= 5x) and the file's size. The replay must reach the recorded
 *   counters, or the figure is not reported as a speed.
 * - Recording overhead: TX and RX 64 B frames/s with `record` on against off, two hosts side by
 *   side in the same run (bench/features.ts, feature 'record'). Target: on/off >= 0.90.
 *
 *   node --import tsx bench/replay.ts [--frames 10000] [--only speed|overhead] [--quick] [--json]
 *
 * Prints one JSON line last on stdout (the ReplayBenchResult).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { TrafficGenerator, WirePeer } from '../harness/index.ts';
import { DriverHost } from '../src/host/driver-host.ts';
import { replay } from '../src/record/replay.ts';
import { featureCost, type FeatureCostResult } from './features.ts';
import { round } from './stats.ts';

const PEER_MAC = '02:00:00:00:00:01';
/** Frames the host may be ahead of the peer's count, and the peer ahead of the host's deliveries (QEMU's UDP socket holds little more). */
const TX_AHEAD = 512;
const RX_WINDOW = 64;
/** A direction that makes no progress for this long has lost frames: the bench fails instead of hanging. */
const STALL_MS = 10_000;

export interface ReplaySpeedResult {
  frames: number;
  events: number;
  fileBytes: number;
  fileMB: number;
  recordedMs: number;
  replayMs: number;
  /** recordedMs / replayMs. */
  speedup: number;
  outcome: string;
}

export interface ReplayBenchResult {
  speed?: ReplaySpeedResult;
  overhead?: { tx: FeatureCostResult; rx: FeatureCostResult };
}

/** Resolves when `reached()` holds, checked on each `tick` subscription call; rejects after STALL_MS without progress. */
function until(what: string, reached: () => boolean, progress: () => number, subscribe: (tick: () => void) => () => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let last = progress();
    const stall = setInterval(() => {
      const now = progress();
      if (now === last) {
        done();
        reject(new Error(`replay bench: no progress for ${STALL_MS} ms waiting for ${what} (at ${now})`));
      }
      last = now;
    }, STALL_MS);
    const check = (): void => {
      if (!reached()) return;
      done();
      resolve();
    };
    const off = subscribe(check);
    const done = (): void => {
      clearInterval(stall);
      off();
    };
    check();
  });
}

async function sendToPeer(host: DriverHost, peer: WirePeer, count: number): Promise<void> {
  const base = peer.counters.framesReceived;
  const got = (): number => peer.counters.framesReceived - base;
  const frames = new TrafficGenerator({ src: host.mac, dst: PEER_MAC, stream: 1, size: 'mixed', seed: 3 }).take(count);
  for (let sent = 0; sent < count;) {
    const chunk = frames.slice(sent, sent + 64);
    await host.sendAll(chunk);
    sent += chunk.length;
    const limit = sent;
    await until(
      'the peer to keep up',
      () => limit - got() <= TX_AHEAD,
      got,
      (t) => peer.onFrame(t),
    );
  }
  await until(
    `${count} frames at the peer`,
    () => got() >= count,
    got,
    (t) => peer.onFrame(t),
  );
}

async function receiveFromPeer(host: DriverHost, peer: WirePeer, count: number): Promise<void> {
  let received = 0;
  const ticks = new Set<() => void>();
  const off = host.onReceive(() => {
    received++;
    for (const t of ticks) t();
  });
  const subscribe = (t: () => void): (() => void) => {
    ticks.add(t);
    return () => ticks.delete(t);
  };
  try {
    const frames = new TrafficGenerator({ src: PEER_MAC, dst: host.mac, stream: 2, size: 'mixed', seed: 4 }).take(count);
    const sentBefore = peer.counters.framesSent;
    await peer.sendBatch(frames, { maxInFlight: RX_WINDOW, inFlight: () => peer.counters.framesSent - sentBefore - received });
    await until(
      `${count} frames delivered`,
      () => received >= count,
      () => received,
      subscribe,
    );
  } finally {
    off();
  }
}

/** Records a `frames`-frame NDIS 6 session on QEMU, then replays it; the file is removed afterwards. */
export async function replaySpeed(frames: number): Promise<ReplaySpeedResult> {
  const dir = mkdtempSync(join(tmpdir(), 'dirql-bench-replay-'));
  const file = join(dir, 'session.rec');
  try {
    const peer = await WirePeer.open();
    let host: DriverHost | undefined;
    try {
      host = await DriverHost.start({ framework: 'ndis6', processors: 1, seed: 1, record: file, wire: { peerPort: peer.port }, bugCheckDir: join(dir, 'crash') });
      await peer.connect(host.machine.wire.qemuPort);
      await sendToPeer(host, peer, Math.ceil(frames / 2));
      await receiveFromPeer(host, peer, Math.floor(frames / 2));
    } finally {
      await host?.stop();
      await peer.close();
    }
    const r = await replay(file);
    if (r.outcome !== 'same') throw new Error(`replay bench: the replay of ${frames} frames ended ${r.outcome}${r.divergence ? `: ${r.divergence.message}` : ''}`);
    const fileBytes = statSync(file).size;
    return {
      frames,
      events: r.events,
      fileBytes,
      fileMB: round(fileBytes / 1e6, 1),
      recordedMs: Math.round(r.recordedMs!),
      replayMs: Math.round(r.replayMs),
      speedup: round(r.speedup!, 1),
      outcome: r.outcome,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** TX and RX 64 B frames/s, recording on against off (bench/features.ts). */
export async function recordOverhead(quick: boolean): Promise<{ tx: FeatureCostResult; rx: FeatureCostResult }> {
  const plan = quick ? { frames: 10_000, rounds: 1, warmupFrames: 5_000 } : {};
  const tx = await featureCost('record', { dir: 'tx', size: 64, ...plan });
  const rx = await featureCost('record', { dir: 'rx', size: 64, ...plan });
  return { tx, rx };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: {
      frames: { type: 'string', default: '10000' },
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const want = (s: string): boolean => values.only === undefined || values.only === s;
  const result: ReplayBenchResult = {};
  if (want('speed')) {
    const s = await replaySpeed(Number(values.frames));
    result.speed = s;
    if (!values.json)
      console.log(
        `replay of a ${s.frames}-frame NDIS 6 session (${s.events} events, ${s.fileMB} MB): recorded ${s.recordedMs} ms, REPLAY ${s.replayMs} ms, ${s.speedup}× real time`,
      );
  }
  if (want('overhead')) {
    const o = await recordOverhead(values.quick);
    result.overhead = o;
    if (!values.json) {
      for (const r of [o.tx, o.rx])
        console.log(
          `record ${r.dir.toUpperCase()} 64 B: off ${(r.off.framesPerSecond / 1000).toFixed(1)} k/s, on ${(r.on.framesPerSecond / 1000).toFixed(1)} k/s, ratio ${r.ratio}× (paired ${r.pairedRatio}×)${r.valid ? '' : ' INVALID (frames lost)'}`,
        );
    }
  }
  console.log(JSON.stringify(result));
}
