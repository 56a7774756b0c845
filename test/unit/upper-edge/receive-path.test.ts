import { describe, expect, it } from 'vitest';
import { PacketRing } from '../../../src/ring/index.ts';
import { ReceivePath } from '../../../src/upper-edge/index.ts';

function frame(seq: number, length: number): Buffer {
  const f = Buffer.alloc(length);
  for (let i = 0; i < length; i++) f[i] = (seq * 13 + i) & 0xff;
  return f;
}

function drain(ring: PacketRing): Buffer[] {
  const consumer = ring.consumer();
  const out: Buffer[] = [];
  consumer.dequeueBatch((view, length) => out.push(Buffer.from(view.subarray(0, length))));
  consumer.dequeueBatch((view, length) => out.push(Buffer.from(view.subarray(0, length))));
  consumer.close();
  return out;
}

describe('ReceivePath (upper edge, RX)', () => {
  it('copies each frame from its place in the indicated buffer into the ring, in order, one publish per run', () => {
    const ring = new PacketRing({ slotCount: 16, slotSize: 2048 });
    const rx = new ReceivePath(ring);
    const big = Buffer.alloc(4096);
    const frames = [frame(1, 60), frame(2, 1514), frame(3, 200)];
    frames.forEach((f, i) => f.copy(big, 100 + i * 1600));
    rx.begin(3);
    frames.forEach((f, i) => expect(rx.push(big, 100 + i * 1600, f.length)).toBe(true));
    rx.commit();
    expect(drain(ring)).toEqual(frames);
    expect(rx.counters).toMatchObject({ frames: 3, bytes: 60 + 1514 + 200, ringFull: 0, publishes: 1 });
  });

  it('an indication that wraps the slot array is published in two runs, nothing lost', () => {
    const ring = new PacketRing({ slotCount: 8, slotSize: 256, startPosition: 5 });
    const rx = new ReceivePath(ring);
    const frames = Array.from({ length: 6 }, (_, i) => frame(i, 64 + i));
    rx.begin(6);
    for (const f of frames) rx.push(f, 0, f.length);
    rx.commit();
    expect(rx.counters.publishes).toBe(2);
    expect(drain(ring)).toEqual(frames);
  });

  it('a full ring drops what does not fit and counts it here and in the ring, never silently', () => {
    const ring = new PacketRing({ slotCount: 4, slotSize: 256 });
    const rx = new ReceivePath(ring);
    rx.begin(6);
    const results = Array.from({ length: 6 }, (_, i) => rx.push(frame(i, 64), 0, 64));
    rx.commit();
    expect(results).toEqual([true, true, true, true, false, false]);
    expect(rx.counters).toMatchObject({ frames: 4, ringFull: 2 });
    expect(ring.stats()).toMatchObject({ enqueued: 4, dropped: 2 });
  });

  it('a frame longer than a slot is dropped and counted', () => {
    const ring = new PacketRing({ slotCount: 4, slotSize: 128 });
    const rx = new ReceivePath(ring);
    rx.begin(2);
    expect(rx.push(frame(1, 200), 0, 200)).toBe(false);
    expect(rx.push(frame(2, 100), 0, 100)).toBe(true);
    rx.commit();
    expect(rx.counters).toMatchObject({ frames: 1, oversize: 1 });
    expect(ring.stats().dropped).toBe(1);
  });
});
