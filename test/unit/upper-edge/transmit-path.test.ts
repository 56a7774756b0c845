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

  it('a replay past its recorded batches (next() undefined) that is not due hands out nothing, and any number once it is', () => {
    const ring = new PacketRing({ slotCount: 16, slotSize: 128 });
    fill(ring, 5);
    let due = false;
    const tx = new TransmitPath(ring, undefined, { next: () => undefined, due: () => due, handedOut: () => undefined });
    expect(tx.heldBack).toBe(true);
    expect(tx.next(100).count).toBe(0);
    due = true;
    expect(tx.next(100)).toMatchObject({ first: 0, count: 5 });
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

  it('logs each hand-out, and with a replay log takes the recorded batches, waiting while fewer frames are there', async () => {
    const logged: number[] = [];
    const ring = new PacketRing({ slotCount: 16, slotSize: 128 });
    fill(ring, 5);
    const recording = new TransmitPath(ring, undefined, { handedOut: (n) => logged.push(n) });
    recording.handOut(recording.next(3).count);
    recording.handOut(recording.next(8).count);
    expect(logged).toEqual([3, 2]);

    const recorded = [2, 4];
    const replayRing = new PacketRing({ slotCount: 16, slotSize: 128 });
    const producer = replayRing.producer();
    for (let i = 0; i < 3; i++) producer.tryEnqueue(Buffer.alloc(60, i));
    const replay = new TransmitPath(replayRing, undefined, { next: () => recorded[0], handedOut: () => recorded.shift() });
    expect(replay.next(64).count).toBe(2);
    replay.handOut(2);
    // One frame there, four recorded: nothing yet, and the wait is for all four.
    expect(replay.next(64).count).toBe(0);
    const waited = replay.waitForFrames(5000);
    for (let i = 3; i < 5; i++) producer.tryEnqueue(Buffer.alloc(60, i));
    expect(replay.next(64).count).toBe(0);
    producer.tryEnqueue(Buffer.alloc(60, 5));
    expect(await waited).toBe(true);
    expect(replay.next(64)).toMatchObject({ first: 2, count: 4 });
  });
});
