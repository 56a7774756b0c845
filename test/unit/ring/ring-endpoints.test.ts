import { describe, expect, it } from 'vitest';
import { PacketRing, RingUsageError } from '../../../src/ring/index.ts';
import { W } from '../../../src/ring/layout.ts';

const frame = new Uint8Array(64).fill(7);

describe('PacketRing endpoints (what producer and consumer do alike)', () => {
  it('a closed endpoint refuses further use, naming its role, and gives its role back once', () => {
    const ring = new PacketRing({ slotCount: 4, slotSize: 128 });
    const producer = ring.producer();
    const consumer = ring.consumer();
    producer.close();
    consumer.close();
    producer.close();
    consumer.close();
    expect(() => producer.tryEnqueue(frame)).toThrow(new RingUsageError('producer is closed', {}));
    expect(() => producer.claim(1)).toThrow(RingUsageError);
    expect(() => consumer.peek()).toThrow(new RingUsageError('consumer is closed', {}));
    expect(() => consumer.tryDequeue(new Uint8Array(128))).toThrow(RingUsageError);
    const header = new Int32Array(ring.buffer, 0, 128);
    expect(Atomics.load(header, W.PRODUCER_ROLE)).toBe(0);
    expect(Atomics.load(header, W.CONSUMER_ROLE)).toBe(0);
    // A successor of each role picks up where the closed ones left off.
    const successor = ring.producer();
    expect(successor.tryEnqueue(frame)).toBe(true);
    expect(ring.consumer().available()).toBe(1);
  });

  it('closing an endpoint ends its pending wait at once (false), rather than at the timeout', async () => {
    const ring = new PacketRing({ slotCount: 4, slotSize: 128 });
    const producer = ring.producer();
    const consumer = ring.consumer();
    while (producer.tryEnqueue(frame));
    const started = performance.now();
    const space = producer.waitForSpace(10_000);
    producer.close();
    expect(await space).toBe(false);
    expect(consumer.dequeueBatch(() => undefined, 4)).toBe(4);
    const data = consumer.waitForData(10_000);
    consumer.close();
    expect(await data).toBe(false);
    // Both waits asked for 10 s; closing, not a timer, ended them.
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("async waits with a bad min reject (not throw), with the side's own call named", async () => {
    const ring = new PacketRing({ slotCount: 4, slotSize: 128 });
    const producer = ring.producer();
    const consumer = ring.consumer();
    const space = producer.waitForSpace(10, 5);
    const data = consumer.waitForData(10, 0);
    await expect(space).rejects.toThrow('waitForSpace min must be between 1 and slotCount');
    await expect(data).rejects.toThrow('waitForData min must be between 1 and slotCount');
    expect(() => producer.waitForSpaceSync(10, 1.5)).toThrow('waitForSpace min must be between 1 and slotCount');
    expect(() => consumer.waitForDataSync(10, 9)).toThrow('waitForData min must be between 1 and slotCount');
    producer.close();
    await expect(producer.waitForSpace(10)).rejects.toThrow('producer is closed');
  });

  it('a consumer wakes a producer waiting for several free slots once, when that many are free', async () => {
    const ring = new PacketRing({ slotCount: 4, slotSize: 128 });
    const producer = ring.producer();
    const consumer = ring.consumer();
    expect(producer.enqueueBatch([frame, frame, frame, frame])).toBe(4);
    const waiting = producer.waitForSpace(5_000, 2);
    expect(ring.stats().producerWaiting).toBe(true);
    const target = new Uint8Array(128);
    consumer.tryDequeue(target);
    expect(consumer.wakeupsSent).toBe(0);
    consumer.tryDequeue(target);
    expect(consumer.wakeupsSent).toBe(1);
    await expect(waiting).resolves.toBe(true);
    expect(ring.stats().producerWaiting).toBe(false);
    expect(producer.wakeupsSent).toBe(0);
  });

  it('both positions cross 2^32 in batches with their epochs, and waits still see the right amounts', async () => {
    const ring = new PacketRing({ slotCount: 8, slotSize: 64, startPosition: 0xffff_fffd });
    const producer = ring.producer();
    const consumer = ring.consumer();
    expect(producer.enqueueBatch([frame, frame, frame, frame, frame].map((f) => f.subarray(0, 32)))).toBe(5);
    expect(ring.stats()).toMatchObject({ enqueued: 5, dequeued: 0, occupancy: 5 });
    const header = new Int32Array(ring.buffer, 0, 128);
    expect(Atomics.load(header, W.TAIL_EPOCH)).toBe(1);
    expect(Atomics.load(header, W.HEAD_EPOCH)).toBe(0);
    await expect(consumer.waitForData(0, 5)).resolves.toBe(true);
    await expect(producer.waitForSpace(0, 3)).resolves.toBe(true);
    await expect(producer.waitForSpace(0, 4)).resolves.toBe(false);
    const run = consumer.peek(4);
    expect(run).toMatchObject({ first: 5, count: 3 });
    consumer.release(3);
    expect(Atomics.load(header, W.HEAD_EPOCH)).toBe(1);
    expect(ring.stats()).toMatchObject({ enqueued: 5, dequeued: 3, occupancy: 2 });
    await expect(producer.waitForSpace(0, 6)).resolves.toBe(true);
  });
});
