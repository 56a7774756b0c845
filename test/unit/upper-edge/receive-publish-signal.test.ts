import { describe, expect, it } from 'vitest';
import { PacketRing } from '../../../src/ring/index.ts';
import { ReceivePath } from '../../../src/upper-edge/index.ts';

describe('ReceivePath onPublish (same-thread consumer wake-up)', () => {
  it('is called once per indication, after its frames are visible in the ring', () => {
    const ring = new PacketRing({ slotCount: 8, slotSize: 256, startPosition: 5 });
    const consumer = ring.consumer();
    const seen: number[] = [];
    const rx = new ReceivePath(ring, () => seen.push(consumer.available()));
    const f = Buffer.alloc(64, 1);
    rx.begin(6);
    for (let i = 0; i < 6; i++) rx.push(f, 0, f.length);
    expect(seen).toEqual([]);
    rx.commit();
    // Six frames over the wrap (two publishes), one call, all six already ready.
    expect(seen).toEqual([6]);
    expect(rx.counters.publishes).toBe(2);
    consumer.close();
  });

  it('is not called for an indication that published nothing (ring full: dropped and counted)', () => {
    const ring = new PacketRing({ slotCount: 2, slotSize: 256 });
    let calls = 0;
    const rx = new ReceivePath(ring, () => calls++);
    const f = Buffer.alloc(64, 1);
    rx.begin(2);
    rx.push(f, 0, 64);
    rx.push(f, 0, 64);
    rx.commit();
    expect(calls).toBe(1);
    rx.begin(1);
    expect(rx.push(f, 0, 64)).toBe(false);
    rx.commit();
    expect(calls).toBe(1);
    expect(rx.counters.ringFull).toBe(1);
  });
});
