import { describe, expect, it } from 'vitest';
import { FrameTooLargeError, PacketRing, RingConfigError, RingLayoutError, RingRoleTakenError, RingUsageError } from '../../../src/ring/index.ts';
import { W } from '../../../src/ring/layout.ts';
import { waitUntil } from '../../support/wait.ts';

function frameOf(seq: number, length: number): Uint8Array {
  const frame = new Uint8Array(length);
  for (let i = 0; i < length; i++) frame[i] = (seq * 31 + i) & 0xff;
  return frame;
}

function expectFrame(actual: Uint8Array, seq: number, length: number): void {
  expect(actual.length).toBe(length);
  expect(Buffer.from(actual).equals(Buffer.from(frameOf(seq, length)))).toBe(true);
}

function ringWithEnds(slotCount: number, slotSize = 2048, startPosition?: number) {
  const ring = new PacketRing({ slotCount, slotSize, ...(startPosition === undefined ? {} : { startPosition }) });
  return { ring, producer: ring.producer(), consumer: ring.consumer() };
}

describe('PacketRing FIFO', () => {
  it('delivers frames in order with content intact across many wrap-arounds, mixing batch sizes and APIs', () => {
    const { ring, producer, consumer } = ringWithEnds(8, 256);
    const received: Array<{ seq: number; bytes: Uint8Array }> = [];
    let sent = 0;
    let next = 0;
    const lengthOf = (seq: number) => 1 + ((seq * 53) % 256);
    for (let round = 0; round < 200; round++) {
      const batch = 1 + (round % 7);
      const frames = Array.from({ length: batch }, (_, i) => frameOf(sent + i, lengthOf(sent + i)));
      sent += round % 2 === 0 ? producer.enqueueBatch(frames) : Number(producer.tryEnqueue(frames[0]!));
      const take = 1 + ((round * 3) % 5);
      if (round % 3 === 0) {
        consumer.dequeueBatch((view, length) => received.push({ seq: next++, bytes: view.slice(0, length) }), take);
      } else if (round % 3 === 1) {
        const target = new Uint8Array(256 * take);
        const lengths = new Uint32Array(take);
        const n = consumer.dequeueBatchInto(target, 256, lengths, take);
        for (let i = 0; i < n; i++) received.push({ seq: next++, bytes: target.slice(i * 256, i * 256 + lengths[i]!) });
      } else {
        const target = new Uint8Array(300);
        const length = consumer.tryDequeue(target, 4);
        if (length >= 0) received.push({ seq: next++, bytes: target.slice(4, 4 + length) });
      }
    }
    consumer.dequeueBatch((view, length) => received.push({ seq: next++, bytes: view.slice(0, length) }));
    expect(sent).toBeGreaterThan(8 * 20); // wrapped the 8-slot ring many times
    expect(received.length).toBe(sent);
    for (const { seq, bytes } of received) expectFrame(bytes, seq, lengthOf(seq));
    expect(ring.stats().occupancy).toBe(0);
  });

  it('copies small frames word-wise into a reused target without corrupting bytes around them', () => {
    const { producer, consumer } = ringWithEnds(4, 128);
    const target = new Uint8Array(200).fill(0xee);
    for (const length of [1, 2, 3, 4, 5, 63, 64, 65, 127, 128]) {
      producer.tryEnqueue(frameOf(length, length));
      target.fill(0xee);
      expect(consumer.tryDequeue(target, 8)).toBe(length);
      expectFrame(target.subarray(8, 8 + length), length, length);
      expect(target[7]).toBe(0xee);
      expect(target[8 + length]).toBe(0xee);
    }
  });

  it('enqueues only the requested prefix when a length shorter than the array is given', () => {
    const { producer, consumer } = ringWithEnds(4);
    producer.tryEnqueue(frameOf(1, 100), 40);
    producer.enqueueBatch([frameOf(2, 500), frameOf(3, 70)], 2, [300, 70]);
    const got: Uint8Array[] = [];
    consumer.dequeueBatch((view, length) => got.push(view.slice(0, length)));
    expect(got.map((f) => f.length)).toEqual([40, 300, 70]);
    expect(Buffer.from(got[0]!).equals(Buffer.from(frameOf(1, 100).subarray(0, 40)))).toBe(true);
    expect(Buffer.from(got[1]!).equals(Buffer.from(frameOf(2, 500).subarray(0, 300)))).toBe(true);
  });
});

describe('PacketRing accounting', () => {
  it('refuses a frame when full and counts the refusal without calling it a drop', () => {
    const { ring, producer } = ringWithEnds(4);
    for (let i = 0; i < 4; i++) expect(producer.tryEnqueue(frameOf(i, 64))).toBe(true);
    expect(producer.tryEnqueue(frameOf(4, 64))).toBe(false);
    expect(producer.tryEnqueue(frameOf(4, 64))).toBe(false);
    expect(ring.stats()).toMatchObject({ enqueued: 4, occupancy: 4, fullRejects: 2, dropped: 0 });
  });

  it('counts a frame given up on as dropped, via enqueueOrDrop or drop(n)', () => {
    const { ring, producer } = ringWithEnds(2);
    producer.enqueueOrDrop(frameOf(0, 64));
    producer.enqueueOrDrop(frameOf(1, 64));
    expect(producer.enqueueOrDrop(frameOf(2, 64))).toBe(false);
    expect(producer.tryEnqueue(frameOf(3, 64))).toBe(false);
    producer.drop(1);
    expect(ring.stats()).toMatchObject({ enqueued: 2, fullRejects: 2, dropped: 2 });
  });

  it('takes only the free slots of a batch larger than the free space and counts the rest as refused', () => {
    const { ring, producer, consumer } = ringWithEnds(8);
    producer.enqueueBatch([frameOf(0, 64), frameOf(1, 64), frameOf(2, 64)]);
    const batch = Array.from({ length: 20 }, (_, i) => frameOf(3 + i, 64));
    expect(producer.enqueueBatch(batch)).toBe(5);
    expect(ring.stats()).toMatchObject({ enqueued: 8, fullRejects: 15, dropped: 0 });
    expect(producer.enqueueBatchOrDrop(batch.slice(5), 4)).toBe(0);
    expect(ring.stats()).toMatchObject({ fullRejects: 19, dropped: 4 });
    const seqs: number[] = [];
    consumer.dequeueBatch((view) => seqs.push(view[0]!));
    expect(seqs).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((seq) => frameOf(seq, 1)[0]));
  });

  it('returns nothing from an empty ring and counts each empty poll', () => {
    const { ring, consumer } = ringWithEnds(4);
    expect(consumer.dequeueBatch(() => expect.unreachable())).toBe(0);
    expect(consumer.tryDequeue(new Uint8Array(2048))).toBe(-1);
    expect(consumer.peek(4).count).toBe(0);
    expect(consumer.dequeueBatchInto(new Uint8Array(2048), 2048, new Uint32Array(1))).toBe(0);
    expect(ring.stats()).toMatchObject({ dequeued: 0, occupancy: 0, emptyPolls: 4 });
  });

  it('keeps enqueued − dequeued equal to occupancy through every step of a run', () => {
    const { ring, producer, consumer } = ringWithEnds(16);
    const frames = Array.from({ length: 11 }, (_, i) => frameOf(i, 60 + i));
    for (let step = 0; step < 100; step++) {
      producer.enqueueBatch(frames, step % 12);
      consumer.dequeueBatch(() => {}, step % 9);
      const stats = ring.stats();
      expect(stats.enqueued - stats.dequeued).toBe(stats.occupancy);
      expect(stats.occupancy).toBe(ring.slotCount - producer.free());
      expect(stats.occupancy).toBe(consumer.available());
    }
  });

  it('keeps counts exact across the 2^32 wrap of the head and tail positions', () => {
    const { ring, producer, consumer } = ringWithEnds(8, 64, 0xffff_fff0);
    let expected = 0;
    for (let i = 0; i < 40; i++) {
      producer.tryEnqueue(frameOf(i, 20));
      const target = new Uint8Array(64);
      expect(consumer.tryDequeue(target)).toBe(20);
      expectFrame(target.subarray(0, 20), expected++, 20);
    }
    expect(ring.stats()).toMatchObject({ enqueued: 40, dequeued: 40, occupancy: 0 });
    producer.enqueueBatch([frameOf(0, 8), frameOf(1, 8), frameOf(2, 8)]);
    expect(ring.stats()).toMatchObject({ enqueued: 43, dequeued: 40, occupancy: 3 });
  });
});

describe('PacketRing frame length checks', () => {
  it('rejects a frame longer than a slot with FrameTooLargeError carrying length and slotSize', () => {
    const { ring, producer } = ringWithEnds(4, 128);
    const error = (() => {
      try {
        producer.tryEnqueue(new Uint8Array(129));
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(FrameTooLargeError);
    expect((error as FrameTooLargeError).context).toEqual({ length: 129, slotSize: 128 });
    expect(ring.stats().enqueued).toBe(0);
  });

  it('publishes nothing from a batch that holds an oversized frame', () => {
    const { ring, producer } = ringWithEnds(4, 128);
    expect(() => producer.enqueueBatch([new Uint8Array(10), new Uint8Array(200)])).toThrow(FrameTooLargeError);
    expect(ring.stats().enqueued).toBe(0);
  });

  it('refuses a published length above the slot size', () => {
    const { ring, producer } = ringWithEnds(4, 128);
    const claim = producer.claim(2);
    expect(() => producer.publish(claim.count, [64, 4096])).toThrow(FrameTooLargeError);
    expect(ring.stats().enqueued).toBe(0);
  });

  it('refuses a copy target too small for the frame and leaves the frame in the ring', () => {
    const { ring, producer, consumer } = ringWithEnds(4);
    producer.tryEnqueue(frameOf(0, 300));
    expect(() => consumer.tryDequeue(new Uint8Array(100))).toThrow(RingUsageError);
    expect(ring.stats().occupancy).toBe(1);
    const target = new Uint8Array(300);
    expect(consumer.tryDequeue(target)).toBe(300);
    expectFrame(target, 0, 300);
  });
});

describe('PacketRing zero-copy claim/publish and peek/release', () => {
  it('hands out contiguous runs that stop at the end of the slot array and resume at slot 0', () => {
    const { ring, producer, consumer } = ringWithEnds(8);
    producer.enqueueBatch(Array.from({ length: 6 }, (_, i) => frameOf(i, 64)));
    consumer.dequeueBatch(() => {}, 6);
    const claim = producer.claim(5);
    expect({ first: claim.first, count: claim.count }).toEqual({ first: 6, count: 2 });
    for (let i = 0; i < claim.count; i++) ring.slotView(claim.first + i).set(frameOf(100 + i, 90));
    producer.publish(claim.count, 90);
    const wrapped = producer.claim(3);
    expect({ first: wrapped.first, count: wrapped.count }).toEqual({ first: 0, count: 3 });
    for (let i = 0; i < 3; i++) ring.slotView(i).set(frameOf(102 + i, 70 + i));
    producer.publish(3, [70, 71, 72]);

    const peeked = consumer.peek(10);
    expect({ first: peeked.first, count: peeked.count }).toEqual({ first: 6, count: 2 });
    expectFrame(ring.slotView(6).subarray(0, ring.slotLength(6)), 100, 90);
    consumer.release(2);
    const rest = consumer.peek(10);
    expect({ first: rest.first, count: rest.count }).toEqual({ first: 0, count: 3 });
    for (let i = 0; i < 3; i++) expectFrame(ring.slotView(i).subarray(0, ring.slotLength(i)), 102 + i, 70 + i);
    consumer.release(3);
    expect(ring.stats()).toMatchObject({ enqueued: 11, dequeued: 11, occupancy: 0 });
  });

  it('counts the part of a claim beyond the free space as refused', () => {
    const { ring, producer } = ringWithEnds(4);
    producer.enqueueBatch([frameOf(0, 64), frameOf(1, 64), frameOf(2, 64)]);
    expect(producer.claim(5).count).toBe(1);
    expect(ring.stats().fullRejects).toBe(4);
  });

  it('refuses to publish or release more slots than were claimed or peeked', () => {
    const { producer, consumer } = ringWithEnds(4);
    producer.claim(2);
    expect(() => producer.publish(3, 64)).toThrow(RingUsageError);
    producer.publish(2, 64);
    expect(() => producer.publish(1, 64)).toThrow(RingUsageError);
    consumer.peek(1);
    expect(() => consumer.release(2)).toThrow(RingUsageError);
  });

  it('publishes a claim in parts and cancels the unpublished rest when frames are enqueued by copy', () => {
    const { ring, producer, consumer } = ringWithEnds(8);
    const claim = producer.claim(4);
    for (let i = 0; i < 4; i++) ring.slotView(claim.first + i).set(frameOf(i, 64));
    producer.publish(1, 64);
    producer.publish(2, [64, 64]);
    expect({ first: claim.first, count: claim.count }).toEqual({ first: 0, count: 4 });
    producer.tryEnqueue(frameOf(9, 64));
    expect(() => producer.publish(1, 64)).toThrow(RingUsageError);
    const seqs: number[] = [];
    consumer.dequeueBatch((view) => seqs.push(view[0]!));
    expect(seqs).toEqual([0, 1, 2, 9].map((seq) => frameOf(seq, 1)[0]));
  });

  it('releases frames handed to a callback that throws, the throwing one included', () => {
    const { ring, producer, consumer } = ringWithEnds(8);
    producer.enqueueBatch([frameOf(0, 64), frameOf(1, 64), frameOf(2, 64)]);
    let calls = 0;
    expect(() =>
      consumer.dequeueBatch(() => {
        if (++calls === 2) throw new Error('handler failed');
      }),
    ).toThrow('handler failed');
    expect(ring.stats()).toMatchObject({ dequeued: 2, occupancy: 1 });
  });
});

describe('PacketRing construction, attach and roles', () => {
  it('rejects a slot count that is not a power of two and a slot size that is not a multiple of 8', () => {
    expect(() => new PacketRing({ slotCount: 12 })).toThrow(RingConfigError);
    expect(() => new PacketRing({ slotCount: 16, slotSize: 100 })).toThrow(RingConfigError);
  });

  it('attaches to the same shared memory and sees frames published through the original', () => {
    const ring = new PacketRing({ slotCount: 4, slotSize: 256 });
    const attached = PacketRing.attach(ring.buffer);
    expect({ slotCount: attached.slotCount, slotSize: attached.slotSize }).toEqual({ slotCount: 4, slotSize: 256 });
    ring.producer().tryEnqueue(frameOf(7, 200));
    const target = new Uint8Array(256);
    expect(attached.consumer().tryDequeue(target)).toBe(200);
    expectFrame(target.subarray(0, 200), 7, 200);
  });

  it('still reports stats after a producer died mid counter update, and a successor repairs the sequence', () => {
    const ring = new PacketRing({ slotCount: 4 });
    const producer = ring.producer();
    producer.tryEnqueue(frameOf(0, 64));
    producer.tryEnqueue(frameOf(1, 64));
    producer.tryEnqueue(frameOf(2, 64));
    producer.tryEnqueue(frameOf(3, 64));
    producer.tryEnqueue(frameOf(4, 64)); // refused: fullRejects 1
    const header = new Int32Array(ring.buffer, 0, 128);
    Atomics.add(header, W.P_SEQ, 1); // what a worker terminated between begin() and end() leaves
    expect(ring.stats()).toMatchObject({ enqueued: 4, fullRejects: 1 });
    ring.forceReleaseRole('producer');
    const successor = ring.producer();
    expect(Atomics.load(header, W.P_SEQ) % 2).toBe(0);
    successor.drop(2);
    expect(ring.stats()).toMatchObject({ enqueued: 4, fullRejects: 1, dropped: 2 });
  });

  it('refuses to attach to a buffer that holds no ring', () => {
    expect(() => PacketRing.attach(new SharedArrayBuffer(4096))).toThrow(RingLayoutError);
  });

  it('allows one producer and one consumer at a time, across attached copies, until closed', () => {
    const ring = new PacketRing({ slotCount: 4 });
    const attached = PacketRing.attach(ring.buffer);
    const producer = ring.producer();
    expect(() => attached.producer()).toThrow(RingRoleTakenError);
    producer.tryEnqueue(frameOf(0, 64));
    producer.close();
    expect(() => producer.tryEnqueue(frameOf(1, 64))).toThrow(RingUsageError);
    const successor = attached.producer();
    successor.tryEnqueue(frameOf(1, 64));
    const consumer = ring.consumer();
    expect(() => attached.consumer()).toThrow(RingRoleTakenError);
    const seqs: number[] = [];
    consumer.dequeueBatch((view) => seqs.push(view[0]!));
    expect(seqs).toEqual([frameOf(0, 1)[0], frameOf(1, 1)[0]]);
  });
});

describe('PacketRing waiting', () => {
  it('wakes a consumer waiting asynchronously when the producer publishes, and marks it as waiting meanwhile', async () => {
    const { ring, producer, consumer } = ringWithEnds(4);
    const waiting = consumer.waitForData(5_000);
    await waitUntil('the consumer to say it waits', () => ring.stats().consumerWaiting);
    producer.tryEnqueue(frameOf(0, 64));
    await expect(waiting).resolves.toBe(true);
    expect(ring.stats().consumerWaiting).toBe(false);
  });

  it('wakes a consumer waiting for several frames only once that many are ready', async () => {
    const { ring, producer, consumer } = ringWithEnds(8);
    let resolved = false;
    const waiting = consumer.waitForData(5_000, 3).then((ready) => {
      resolved = true;
      return ready;
    });
    await waitUntil('the consumer to say it waits', () => ring.stats().consumerWaiting);
    producer.tryEnqueue(frameOf(0, 64));
    producer.tryEnqueue(frameOf(1, 64));
    // No wake-up sent, and Atomics.waitAsync ends only on a notify or its timeout: the consumer is
    // still asleep, still flagged as waiting.
    expect(producer.wakeupsSent).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(resolved).toBe(false);
    expect(ring.stats().consumerWaiting).toBe(true);
    producer.tryEnqueue(frameOf(2, 64));
    await expect(waiting).resolves.toBe(true);
    expect(producer.wakeupsSent).toBe(1);
    expect(consumer.available()).toBe(3);
  });

  it('sends no wake-ups while the other side is not waiting', () => {
    const { producer, consumer } = ringWithEnds(8);
    for (let i = 0; i < 100; i++) {
      producer.enqueueBatch([frameOf(i, 64), frameOf(i + 1, 64)]);
      consumer.dequeueBatch(() => {});
    }
    expect(producer.wakeupsSent).toBe(0);
    expect(consumer.wakeupsSent).toBe(0);
  });

  it('resolves false when no data arrives before the timeout', async () => {
    const { consumer } = ringWithEnds(4);
    await expect(consumer.waitForData(30)).resolves.toBe(false);
  });

  it('wakes a producer waiting for space when the consumer releases', async () => {
    const { ring, producer, consumer } = ringWithEnds(2);
    producer.enqueueBatch([frameOf(0, 64), frameOf(1, 64)]);
    const waiting = producer.waitForSpace(5_000);
    await waitUntil('the producer to say it waits', () => ring.stats().producerWaiting);
    consumer.tryDequeue(new Uint8Array(2048));
    await expect(waiting).resolves.toBe(true);
    expect(consumer.wakeupsSent).toBe(1);
    expect(producer.free()).toBe(1);
  });

  it('refuses the blocking waits on the main thread', () => {
    const { producer, consumer } = ringWithEnds(2);
    expect(() => consumer.waitForDataSync(1)).toThrow(RingUsageError);
    producer.enqueueBatch([frameOf(0, 64), frameOf(1, 64)]);
    expect(() => producer.waitForSpaceSync(1)).toThrow(RingUsageError);
  });
});
