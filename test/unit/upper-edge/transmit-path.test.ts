import { describe, expect, it } from 'vitest';
import { PacketRing } from '../../../src/ring/index.ts';
import { TransmitPath } from '../../../src/upper-edge/index.ts';

function fill(ring: PacketRing, count: number, start = 0): void {
  const producer = ring.producer();
  for (let i = 0; i < count; i++) expect(producer.tryEnqueue(Buffer.alloc(60, start + i))).toBe(true);
  producer.close();
}

describe('TransmitPath (upper edge, TX)', () => {
  it('hands out frames in place beyond those in flight, without releasing them', () => {
    const ring = new PacketRing({ slotCount: 16, slotSize: 128 });
    fill(ring, 10);
    const tx = new TransmitPath(ring);
    const a = tx.next(4);
    expect(a).toMatchObject({ first: 0, count: 4 });
    tx.handOut(4);
    const b = tx.next(100);
    expect(b).toMatchObject({ first: 4, count: 6 });
    tx.handOut(6);
    expect(tx.next(100).count).toBe(0);
    expect(tx.inFlight).toBe(10);
    expect(ring.slotView(5)[0]).toBe(5);
    expect(ring.stats().dequeued).toBe(0);
  });

  it('completions in any order release slots strictly in order', () => {
    const ring = new PacketRing({ slotCount: 16, slotSize: 128 });
    fill(ring, 6);
    const tx = new TransmitPath(ring);
    tx.next(6);
    tx.handOut(6);
    tx.complete(2, true);
    tx.complete(1, true);
    expect(tx.releaseCompleted()).toBe(0);
    tx.complete(0, false);
    expect(tx.releaseCompleted()).toBe(3);
    expect(ring.stats().dequeued).toBe(3);
    tx.complete(5, true);
    tx.complete(4, true);
    expect(tx.releaseCompleted()).toBe(0);
    tx.complete(3, true);
    expect(tx.releaseCompleted()).toBe(3);
    expect(tx.inFlight).toBe(0);
    expect(tx.counters).toMatchObject({ handedOut: 6, completed: 6, failed: 1, released: 6 });
  });

  it('at the end of the slot array the in-flight run stops, and continues from slot 0 once released', () => {
    const ring = new PacketRing({ slotCount: 8, slotSize: 128, startPosition: 6 });
    fill(ring, 5);
    const tx = new TransmitPath(ring);
    expect(tx.next(8)).toMatchObject({ first: 6, count: 2 });
    tx.handOut(2);
    expect(tx.next(8).count).toBe(0);
    expect(tx.waiting()).toBe(3);
    tx.complete(6, true);
    tx.complete(7, true);
    expect(tx.releaseCompleted()).toBe(2);
    expect(tx.next(8)).toMatchObject({ first: 0, count: 3 });
    expect(ring.slotView(0)[0]).toBe(2);
  });
});
