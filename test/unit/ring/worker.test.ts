import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { PacketRing, RingRoleTakenError } from '../../../src/ring/index.ts';
import { startTsWorker } from '../../../src/ring/ts-worker.ts';
import { checkSequencedFrame, fillSequencedFrame, frameLengthFor } from './sequenced-frames.ts';
import { waitUntil } from '../../support/wait.ts';

const FRAMES = 100_000;
const workerBody = new URL('./ring-worker-body.ts', import.meta.url);

/** The worker's single report; rejects if it fails or exits first. Never left unhandled. */
function resultOf<T>(worker: Worker): Promise<T> {
  const result = new Promise<T>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`worker exited with code ${code} before reporting`)));
  });
  result.catch(() => {});
  return result;
}

describe('PacketRing across a worker thread', () => {
  it('passes 100k sequenced frames from the main thread to a worker with none lost, reordered or corrupted', async () => {
    const ring = new PacketRing({ slotCount: 64 });
    const worker = startTsWorker(workerBody, { workerData: { sab: ring.buffer, role: 'verify', frames: FRAMES } });
    try {
      const done = resultOf<{ received: number; corrupt: number; firstProblem?: string }>(worker);
      const producer = ring.producer();
      const frames = Array.from({ length: 16 }, () => new Uint8Array(ring.slotSize));
      const lengths = new Array<number>(16);
      for (let seq = 0; seq < FRAMES;) {
        const batch = Math.min(16, FRAMES - seq);
        for (let i = 0; i < batch; i++) {
          lengths[i] = frameLengthFor(seq + i);
          fillSequencedFrame(frames[i]!, seq + i, lengths[i]!);
        }
        let sent = 0;
        while (sent < batch) {
          const taken = producer.enqueueBatch(frames.slice(sent), batch - sent, lengths.slice(sent));
          sent += taken;
          if (sent < batch) await producer.waitForSpace(5_000);
        }
        seq += batch;
      }
      const report = await done;
      expect(report).toEqual({ received: FRAMES, corrupt: 0 });
      const stats = ring.stats();
      expect(stats).toMatchObject({ enqueued: FRAMES, dequeued: FRAMES, occupancy: 0, dropped: 0 });
    } finally {
      await worker.terminate();
    }
  });

  it('lets the main thread take over the role of a worker terminated while holding it, losing no frame', async () => {
    const ring = new PacketRing({ slotCount: 64 });
    const producer = ring.producer();
    const worker = startTsWorker(workerBody, { workerData: { sab: ring.buffer, role: 'verify', frames: FRAMES } });
    try {
      for (let seq = 0; seq < 10; seq++) {
        const frame = new Uint8Array(frameLengthFor(seq));
        fillSequencedFrame(frame, seq, frame.length);
        producer.tryEnqueue(frame);
      }
      await waitUntil('the worker to dequeue the 10 frames', () => ring.stats().dequeued >= 10, 10_000);
    } finally {
      await worker.terminate();
    }
    expect(() => ring.consumer()).toThrow(RingRoleTakenError);
    ring.forceReleaseRole('consumer');
    const consumer = ring.consumer();
    const frame = new Uint8Array(frameLengthFor(10));
    fillSequencedFrame(frame, 10, frame.length);
    producer.tryEnqueue(frame);
    const seen: Array<string | undefined> = [];
    consumer.dequeueBatch((view, length) => seen.push(checkSequencedFrame(view, length, 10)));
    expect(seen).toEqual([undefined]);
    expect(ring.stats()).toMatchObject({ enqueued: 11, dequeued: 11, dropped: 0 });
  });

  it('receives 100k sequenced frames from a worker producer, zero-copy on both sides, in order and intact', async () => {
    const ring = new PacketRing({ slotCount: 64 });
    const consumer = ring.consumer();
    const worker = startTsWorker(workerBody, { workerData: { sab: ring.buffer, role: 'produce', frames: FRAMES } });
    try {
      const done = resultOf<{ sent: number }>(worker);
      let expected = 0;
      let corrupt = 0;
      let firstProblem: string | undefined;
      while (expected < FRAMES) {
        const run = consumer.peek(32);
        if (run.count === 0) {
          expect(await consumer.waitForData(5_000)).toBe(true);
          continue;
        }
        for (let i = 0; i < run.count; i++) {
          const slot = run.first + i;
          const problem = checkSequencedFrame(ring.slotView(slot), ring.slotLength(slot), expected++);
          if (problem !== undefined) {
            corrupt++;
            firstProblem ??= problem;
          }
        }
        consumer.release(run.count);
      }
      expect({ corrupt, firstProblem }).toEqual({ corrupt: 0, firstProblem: undefined });
      expect(await done).toEqual({ sent: FRAMES });
      expect(ring.stats()).toMatchObject({ enqueued: FRAMES, dequeued: FRAMES, occupancy: 0, dropped: 0 });
    } finally {
      await worker.terminate();
    }
  });
});
