/**
 * Sessions whose RX ring filled. NDIS 6 and NDIS 5: frames indicated into the full ring were
 * dropped (ringFull); the recording holds each of the host's takes from the ring (`[9,
 * 'delivered', count, published]`, format 9), so a replay's ring fills, drops and delivers as the
 * recorded one did. KMDF: a session whose RX ring filled (nobody took frames from it for a while): the edge kept
 * fewer reads pending than asked, the driver held frames with no request for them and ran its
 * retry timer. The recording holds each read top-up (`[9, 'reads', count, published]`, format 8)
 * and a replay (REPLAY, no QEMU) submits the same ones, so it ends with the recorded counters.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TrafficGenerator } from '../../harness/index.ts';
import { RecordKind, readRecording } from '../../src/record/format.ts';
import { replay } from '../../src/record/replay.ts';
import { waitUntil } from '../support/wait.ts';
import { closeHostWithPeer, openHostWithPeer, PEER_MAC, type HostWithPeer } from './support/e1000-exchange.ts';

const dir = mkdtempSync(join(tmpdir(), 'dirql-replay-rx-overload-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface KmdfRx {
  frameworkSide: { upperEdge: { rx: { frames: number; readsShortOfRing: number } }; driver: { framesHeld: number } };
}

/**
 * 300 frames to the host's 64-slot RX ring: the first 120 with nobody taking frames from the ring
 * until `full` says it filled, the rest once a listener takes them, until `delivered` arrived.
 */
async function fillThenListen(f: HostWithPeer, seed: number, full: () => boolean, delivered: number): Promise<void> {
  const frames = new TrafficGenerator({ src: PEER_MAC, dst: f.host.mac, stream: 2, size: 'mixed', seed }).take(300);
  let received = 0;
  await f.peer.sendBatch(frames.slice(0, 120), { maxInFlight: 32, inFlight: () => 0 });
  await waitUntil('the RX ring full', full, 10_000);
  f.host.onReceive(() => void received++);
  await f.peer.sendBatch(frames.slice(120), { maxInFlight: 32, inFlight: () => f.peer.counters.framesSent - 120 - received });
  await waitUntil('the last frames delivered', () => f.peer.counters.framesSent === 300 && received >= delivered, 20_000);
}

describe('REPLAY of a KMDF session whose RX ring filled (no QEMU)', () => {
  // One processor without a seed: the driver's retry timer found no request in the recorded DPC,
  // and the replay's must run at the same point (a timer's DPC before what was recorded after it).
  it.each([
    [1, 1],
    [2, 1],
    [2, 2],
  ])('%i processor(s), seed %i: the same read top-ups, the same held frames, the recorded counters', async (processors, seed) => {
    const file = join(dir, `kmdf-${processors}-${seed}.rec`);
    const f = await openHostWithPeer('dirql-replay-rx-overload-', { framework: 'kmdf', processors, seed, record: file, ringSlots: 64 });
    try {
      // The reads run short while the ring is full. Frames the NIC had no descriptor for are
      // missed on the wire: what matters is that the rest arrived.
      await fillThenListen(f, seed, () => f.host.rxRing.stats().enqueued >= 60, 250);
    } finally {
      await closeHostWithPeer(f);
    }
    const recording = readRecording(file);
    const topUps = recording.events.filter((e) => e[0] === RecordKind.Host && e[1] === 'reads');
    // Some top-up was short of the 64 reads wanted: the consumer was behind.
    expect(topUps.some((e) => (e[2] as number) < 64)).toBe(true);
    const recorded = recording.trailer.counters as unknown as KmdfRx;
    expect(recorded.frameworkSide.upperEdge.rx.readsShortOfRing).toBeGreaterThan(0);
    expect(recorded.frameworkSide.driver.framesHeld).toBeGreaterThan(0);

    const r = await replay(file);
    expect(r.divergence).toBeUndefined();
    expect(r.outcome).toBe('same');
    expect(r.counters).toEqual(r.recordedCounters);
  });
});

interface NdisRx {
  frameworkSide: { upperEdge: { rx: { ringFull: number } } };
  delivered: number;
}

describe.each(['ndis6', 'ndis5'] as const)('REPLAY of a %s session whose RX ring filled (no QEMU)', (framework) => {
  it('drops the same frames at the full ring and delivers the recorded ones', async () => {
    const file = join(dir, `${framework}.rec`);
    const f = await openHostWithPeer('dirql-replay-rx-overload-', { framework, record: file, ringSlots: 64 });
    try {
      // The driver's indications into the full ring are dropped.
      await fillThenListen(f, 1, () => f.host.rxRing.stats().dropped > 0, 150);
    } finally {
      await closeHostWithPeer(f);
    }
    const recording = readRecording(file);
    expect(recording.events.some((e) => e[0] === RecordKind.Host && e[1] === 'delivered')).toBe(true);
    const recorded = recording.trailer.counters as unknown as NdisRx;
    expect(recorded.frameworkSide.upperEdge.rx.ringFull).toBeGreaterThan(0);

    const r = await replay(file);
    expect(r.divergence).toBeUndefined();
    expect(r.outcome).toBe('same');
    expect(r.counters).toEqual(r.recordedCounters);
    expect(r.notes ?? []).toEqual([]);
  });
});
