/**
 * Worker side of the cross-thread ring tests. workerData: { sab, role, frames }.
 * - 'verify': consume `frames` frames, check sequence numbers and payload, report.
 * - 'produce': publish `frames` frames with sequence numbers, blocking when full.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PacketRing } from '../../../src/ring/index.ts';
import { fillSequencedFrame, frameLengthFor, checkSequencedFrame } from './sequenced-frames.ts';

const { sab, role, frames } = workerData as { sab: SharedArrayBuffer; role: 'verify' | 'produce'; frames: number };
const ring = PacketRing.attach(sab);

if (role === 'verify') {
  const consumer = ring.consumer();
  let expected = 0;
  let corrupt = 0;
  let firstProblem: string | undefined;
  const onFrame = (view: Uint8Array, length: number): void => {
    const problem = checkSequencedFrame(view, length, expected);
    if (problem !== undefined) {
      corrupt++;
      firstProblem ??= problem;
    }
    expected++;
  };
  while (expected < frames) {
    if (consumer.dequeueBatch(onFrame, 32) === 0) consumer.waitForDataSync(5_000);
  }
  consumer.close();
  parentPort!.postMessage({ received: expected, corrupt, firstProblem });
} else {
  const producer = ring.producer();
  for (let seq = 0; seq < frames;) {
    const claim = producer.claim(Math.min(16, frames - seq));
    if (claim.count === 0) {
      producer.waitForSpaceSync(5_000);
      continue;
    }
    for (let i = 0; i < claim.count; i++) {
      // Zero-copy: the frame is written straight into the claimed slot.
      fillSequencedFrame(ring.slotView(claim.first + i), seq + i, frameLengthFor(seq + i));
    }
    producer.publish(claim.count, lengthsFrom(seq, claim.count));
    seq += claim.count;
  }
  producer.close();
  parentPort!.postMessage({ sent: frames });
}

function lengthsFrom(first: number, count: number): number[] {
  const lengths: number[] = [];
  for (let i = 0; i < count; i++) lengths.push(frameLengthFor(first + i));
  return lengths;
}
