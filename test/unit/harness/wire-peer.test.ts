import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FrameSizeError, WireClosedError, WireSocketError, WireTimeoutError } from '../../../harness/errors.ts';
import { FaultPlan } from '../../../harness/faults.ts';
import { LINKTYPE_ETHERNET, PCAP_MAGIC_MICROSECONDS, readPcap } from '../../../harness/pcap.ts';
import { FrameVerifier, MIN_TEST_FRAME_LENGTH, TrafficGenerator } from '../../../harness/traffic.ts';
import { WirePeer, type WirePeerOptions } from '../../../harness/wire-peer.ts';
import { waitUntil } from '../../support/wait.ts';

const open: WirePeer[] = [];
const dirs: string[] = [];

async function pair(options: Omit<WirePeerOptions, 'qemuPort' | 'port'> = {}): Promise<[WirePeer, WirePeer]> {
  const peers = await WirePeer.pair(options);
  open.push(...peers);
  return peers;
}

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'dirql-wire-'));
  dirs.push(d);
  return d;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** Window for sendBatch: frames sent by `from` that `to` has not received yet. */
const window = (from: WirePeer, to: WirePeer) => ({
  maxInFlight: 128,
  inFlight: () => from.counters.framesSent - to.counters.framesReceived,
});

describe('WirePeer', () => {
  it('binds on 127.0.0.1 with an ephemeral port and larger socket buffers than requested small ones', async () => {
    const [a, b] = await pair();
    const small = await WirePeer.open({ socketBufferBytes: 16 * 1024 });
    open.push(small);
    expect(a.host).toBe('127.0.0.1');
    expect(a.port).toBeGreaterThan(0);
    expect(a.qemuPort).toBe(b.port);
    expect(b.qemuPort).toBe(a.port);
    expect(a.receiveBufferBytes).toBeGreaterThan(small.receiveBufferBytes);
    expect(a.sendBufferBytes).toBeGreaterThan(small.sendBufferBytes);
  });

  it('delivers frames byte-identical in both directions, including the size limits', async () => {
    const [a, b] = await pair();
    const frames = [14, 60, 61, 1000, 1514, 1518].map((n) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff)));
    for (const f of frames) a.send(f);
    const atB = await b.collect(frames.length, 2000);
    expect(atB.every((f, i) => f.equals(frames[i]!))).toBe(true);
    for (const f of atB) b.send(f);
    const atA = await a.collect(frames.length, 2000);
    expect(atA.every((f, i) => f.equals(frames[i]!))).toBe(true);
    expect(a.counters).toMatchObject({ framesSent: 6, framesReceived: 6, sendErrors: 0 });
    expect(a.counters.bytesSent).toBe(frames.reduce((s, f) => s + f.length, 0));
    expect(b.counters.bytesReceived).toBe(a.counters.bytesSent);
  });

  it('carries 10,000 mixed-size frames with no loss, reordering or corruption', async () => {
    const [a, b] = await pair();
    const verifier = new FrameVerifier();
    b.onFrame((f) => verifier.accept(f));
    const frames = new TrafficGenerator({ seed: 2024 }).take(10_000);
    expect(await a.sendBatch(frames, window(a, b))).toBe(10_000);
    await waitUntil('10,000 frames at b', () => b.counters.framesReceived >= 10_000, 3000);
    expect(verifier.summary(10_000)).toEqual({ ok: 10_000, lost: 0, reordered: 0, duplicated: 0, corrupted: 0, foreign: 0 });
    expect(b.counters.bytesReceived).toBe(frames.reduce((s, f) => s + f.length, 0));
  });

  it('the verifier sees exactly the drop, swap, duplicate and corruption the fault plan applied', async () => {
    const faults = new FaultPlan({
      drop: { at: [10] },
      reorder: { at: [20] },
      duplicate: { at: [30] },
      corrupt: { at: [40], offset: 50 },
    });
    const [a, b] = await pair({ faults });
    const verifier = new FrameVerifier();
    b.onFrame((f) => verifier.accept(f));
    await a.sendBatch(new TrafficGenerator({ size: { min: 60, max: 1514 } }).take(100));
    await waitUntil('100 frames at b', () => b.counters.framesReceived >= 100, 3000);
    expect(faults.counts).toMatchObject({ offered: 100, emitted: 100, dropped: 1, reordered: 1, duplicated: 1, corrupted: 1 });
    expect(verifier.summary(100)).toEqual({ ok: 98, lost: 1, reordered: 1, duplicated: 1, corrupted: 1, foreign: 0 });
  });

  it('frames padded by the NIC to 60 bytes (plus FCS) verify as ok after crossing the wire', async () => {
    const [a, b] = await pair();
    const short = new TrafficGenerator({ size: MIN_TEST_FRAME_LENGTH }).take(3);
    a.send(Buffer.concat([short[0]!, Buffer.alloc(60 - MIN_TEST_FRAME_LENGTH)]));
    a.send(Buffer.concat([short[1]!, Buffer.alloc(60 - MIN_TEST_FRAME_LENGTH, 0xee), Buffer.from([1, 2, 3, 4])]));
    a.send(short[2]!);
    const verifier = new FrameVerifier();
    const got = await b.collect(3, 2000);
    expect(got.map((f) => f.length)).toEqual([60, 64, MIN_TEST_FRAME_LENGTH]);
    expect(got.map((f) => verifier.accept(f))).toEqual(['ok', 'ok', 'ok']);
  });

  it('rejects runts and oversize frames with FrameSizeError carrying the limits', async () => {
    const [a] = await pair();
    const err = catchError(() => a.send(Buffer.alloc(13)));
    expect(err).toBeInstanceOf(FrameSizeError);
    expect((err as FrameSizeError).context).toEqual({ length: 13, min: 14, max: 1518 });
    expect(() => a.send(Buffer.alloc(1519))).toThrow(FrameSizeError);
    expect(() => a.send(new Uint8Array(0))).toThrow(FrameSizeError);
    await expect(a.sendBatch([Buffer.alloc(60), Buffer.alloc(2000)])).rejects.toBeInstanceOf(FrameSizeError);
    expect(a.counters.framesSent).toBe(0);
  });

  it('never puts a zero-length datagram on the wire (QEMU 7.2 stops reading after one), faults or not', async () => {
    const [a, b] = await pair();
    let arrived = 0;
    b.onFrame(() => arrived++);
    a.faults = new FaultPlan({ seed: 1, duplicate: { every: 1 }, reorder: { every: 2 } });
    for (const empty of [Buffer.alloc(0), new Uint8Array(0), Buffer.alloc(64).subarray(10, 10)]) {
      expect(() => a.send(empty)).toThrow(FrameSizeError);
      await expect(a.sendBatch([Buffer.alloc(60), empty])).rejects.toBeInstanceOf(FrameSizeError);
    }
    a.flushFaults();
    a.faults = undefined;
    expect(a.counters.framesSent).toBe(0);
    // The marker: the wire works, and it is the first datagram b ever saw.
    a.send(Buffer.alloc(60, 7));
    await waitUntil('the marker', () => arrived > 0, 5_000);
    expect(b.counters).toMatchObject({ framesReceived: 1, bytesReceived: 60 });
  });

  it('accepts jumbo frames up to 9018 bytes only when allowed', async () => {
    const [a, b] = await pair({ allowJumbo: true });
    const jumbo = new TrafficGenerator({ size: 9018 }).next();
    a.send(jumbo);
    expect((await b.nextFrame(2000)).equals(jumbo)).toBe(true);
    expect(() => a.send(Buffer.alloc(9019))).toThrow(FrameSizeError);
  });

  it('queues frames for nextFrame/collect in arrival order and times out with what arrived', async () => {
    const [a, b] = await pair();
    const frames = new TrafficGenerator({ size: 64 }).take(3);
    for (const f of frames) a.send(f);
    await waitUntil('3 frames queued at b', () => b.queued === 3, 3000);
    expect((await b.nextFrame(100)).equals(frames[0]!)).toBe(true);
    const err = await b.collect(5, 50).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WireTimeoutError);
    expect((err as WireTimeoutError).frames.map((f) => f.equals(frames[1]!) || f.equals(frames[2]!))).toEqual([true, true]);
    expect((err as WireTimeoutError).context).toMatchObject({ wanted: 5, got: 2 });
  });

  it('beyond receiveQueueLimit still tells listeners and counts the frames it did not queue', async () => {
    const [a, b] = await pair({ receiveQueueLimit: 4 });
    let heard = 0;
    b.onFrame(() => heard++);
    for (const f of new TrafficGenerator({ size: 64 }).take(10)) a.send(f);
    await waitUntil('10 frames at b', () => b.counters.framesReceived === 10, 3000);
    expect(heard).toBe(10);
    expect(b.queued).toBe(4);
    expect(b.counters.receiveQueueDropped).toBe(6);
  });

  it('with receiveQueueLimit 0 keeps nothing for collect and counts no queue drops', async () => {
    const [a, b] = await pair({ receiveQueueLimit: 0 });
    let heard = 0;
    b.onFrame(() => heard++);
    for (const f of new TrafficGenerator({ size: 64 }).take(5)) a.send(f);
    await waitUntil('5 datagrams heard', () => heard === 5, 3000);
    expect(b.queued).toBe(0);
    expect(b.counters.receiveQueueDropped).toBe(0);
  });

  it('a fault plan set on an open peer applies to single sends; flushFaults releases held frames', async () => {
    const [a, b] = await pair();
    a.faults = new FaultPlan({ reorder: { at: [2] } });
    const frames = new TrafficGenerator({ size: 64 }).take(3);
    for (const f of frames) a.send(f);
    expect(a.counters.framesSent).toBe(2);
    a.flushFaults();
    const got = await b.collect(3, 2000);
    expect(got.map((f) => frames.findIndex((x) => x.equals(f)))).toEqual([0, 1, 2]);
    expect(a.faults.counts.reordered).toBe(1);
  });

  it('paces sendBatch to the in-flight window', async () => {
    const [a, b] = await pair();
    let worst = 0;
    b.onFrame(() => {
      worst = Math.max(worst, a.counters.framesSent - b.counters.framesReceived + 1);
    });
    await a.sendBatch(new TrafficGenerator().take(2000), { maxInFlight: 8, inFlight: () => a.counters.framesSent - b.counters.framesReceived });
    await waitUntil('2000 frames at b', () => b.counters.framesReceived === 2000, 3000);
    expect(worst).toBeLessThanOrEqual(8);
  });

  it('fails sendBatch with WireTimeoutError when the window never opens', async () => {
    const [a] = await pair();
    const err = await a.sendBatch(new TrafficGenerator().take(5), { maxInFlight: 1, inFlight: () => 1, stallTimeoutMs: 30 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WireTimeoutError);
    expect(a.counters.framesSent).toBe(0);
  });

  it('paces sendBatch to framesPerSecond', async () => {
    const [a, b] = await pair();
    const started = performance.now();
    await a.sendBatch(new TrafficGenerator({ size: 64 }).take(41), { framesPerSecond: 1000 });
    // 40 intervals of 1 ms; sendBatch sleeps only when 1 ms or more ahead and timers round to whole
    // milliseconds, so up to about 2 ms early is by design. Unpaced, 41 frames leave in well under 5 ms.
    expect(performance.now() - started).toBeGreaterThanOrEqual(35);
    await waitUntil('41 frames at b', () => b.counters.framesReceived === 41, 3000);
  });

  it('ignores datagrams from anyone but the connected remote', async () => {
    const [, b] = await pair();
    const stranger = dgram.createSocket('udp4');
    await new Promise<void>((r) => stranger.send(Buffer.alloc(60, 1), b.port, '127.0.0.1', () => r()));
    stranger.close();
    await expect(b.nextFrame(50)).rejects.toBeInstanceOf(WireTimeoutError);
    expect(b.counters.framesReceived).toBe(0);
  });

  it('refuses to send before it knows the QEMU port', async () => {
    const lonely = await WirePeer.open();
    open.push(lonely);
    expect(() => lonely.send(Buffer.alloc(60))).toThrow(WireSocketError);
  });

  it('close() rejects pending waits and later sends with WireClosedError', async () => {
    const [a] = await pair();
    const waiting = a.nextFrame(5000);
    await a.close();
    await expect(waiting).rejects.toBeInstanceOf(WireClosedError);
    expect(() => a.send(Buffer.alloc(60))).toThrow(WireClosedError);
    await a.close();
  });

  it('captures sent, received and both directions into classic pcap files', async () => {
    const [a, b] = await pair();
    b.onFrame((f) => b.send(f));
    const d = tempDir();
    const both = a.capture(path.join(d, 'both.pcap'));
    const sent = a.capture(path.join(d, 'sent.pcap'), { direction: 'sent' });
    const received = a.capture(path.join(d, 'received.pcap'), { direction: 'received', resolution: 'ns' });
    const frames = new TrafficGenerator({ seed: 9 }).take(50);
    await a.sendBatch(frames, window(a, b));
    await a.collect(50, 2000);
    for (const c of [both, sent, received]) c.stop();
    expect(both.records).toBe(100);

    const s = readPcap(sent.path);
    expect(s.header).toMatchObject({ magic: PCAP_MAGIC_MICROSECONDS, versionMajor: 2, versionMinor: 4, linkType: LINKTYPE_ETHERNET, snaplen: 65535 });
    expect(s.records).toHaveLength(50);
    expect(s.records.every((r, i) => r.data.equals(frames[i]!) && r.originalLength === frames[i]!.length)).toBe(true);
    const r = readPcap(received.path);
    expect(r.header.resolution).toBe('ns');
    expect(r.records.every((rec, i) => rec.data.equals(frames[i]!))).toBe(true);
    const bo = readPcap(both.path).records;
    expect(bo).toHaveLength(100);
    expect(bo.every((rec, i) => i === 0 || rec.timestampNs >= bo[i - 1]!.timestampNs)).toBe(true);
  });

  it('captures frames as they left after faults, not as they were given', async () => {
    const [a, b] = await pair({ faults: new FaultPlan({ drop: { every: 2 } }) });
    const file = path.join(tempDir(), 'faulted.pcap');
    const cap = a.capture(file, { direction: 'sent' });
    const frames = new TrafficGenerator({ size: 100 }).take(6);
    await a.sendBatch(frames);
    await b.collect(3, 2000);
    cap.stop();
    expect(readPcap(file).records.map((rec) => frames.findIndex((f) => f.equals(rec.data)))).toEqual([0, 2, 4]);
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}
