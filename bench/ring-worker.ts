/**
 * Worker side of the cross-thread ring benchmark (started by bench/ring.ts through startTsWorker).
 * workerData: { sab, control, role: 'consume' | 'produce', frames, frameBytes, batch }.
 * control is an Int32Array over a SharedArrayBuffer: the worker sets [1] = 1 when attached and
 * waits for [0] = 1 before moving frames, so thread start-up stays out of the timing.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PacketRing } from '../src/ring/index.ts';
import { HeapProbe, SPIN_POLLS_BEFORE_SLEEP } from './ring.ts';

interface RingWorkerData {
  sab: SharedArrayBuffer;
  control: SharedArrayBuffer;
  role: 'consume' | 'produce';
  frames: number;
  frameBytes: number;
  batch: number;
}

export interface RingWorkerReport {
  frames: number;
  sleeps: number;
  heapBytesPerFrame: number | null;
  gcs: number;
  checksum: number;
}

const data = workerData as RingWorkerData;
const control = new Int32Array(data.control);
const ring = PacketRing.attach(data.sab);

function consume(): RingWorkerReport {
  const consumer = ring.consumer();
  const target = new Uint8Array(data.batch * ring.slotSize);
  const lengths = new Uint32Array(data.batch);
  let received = 0;
  let spins = 0;
  let sleeps = 0;
  let checksum = 0;
  ready();
  const probe = HeapProbe.start();
  while (received < data.frames) {
    const n = consumer.dequeueBatchInto(target, ring.slotSize, lengths, data.batch);
    if (n > 0) {
      received += n;
      checksum = (checksum + target[0]! + lengths[n - 1]!) | 0;
      spins = 0;
    } else if (++spins > SPIN_POLLS_BEFORE_SLEEP) {
      consumer.waitForDataSync(1_000, Math.min(data.batch, data.frames - received));
      sleeps++;
      spins = 0;
    }
  }
  const heap = probe.stop(received);
  consumer.close();
  return { frames: received, sleeps, checksum, ...heap };
}

function produce(): RingWorkerReport {
  const producer = ring.producer();
  const frames = Array.from({ length: data.batch }, (_, i) => new Uint8Array(data.frameBytes).fill(i + 1));
  let sent = 0;
  let spins = 0;
  let sleeps = 0;
  ready();
  const probe = HeapProbe.start();
  while (sent < data.frames) {
    const wanted = Math.min(data.batch, data.frames - sent);
    // Offer only what fits: a refused offer is counted (fullRejects), and spinning on refusals
    // would make that counter meaningless.
    if (producer.free() >= wanted) {
      sent += producer.enqueueBatch(frames, wanted);
      spins = 0;
    } else if (++spins > SPIN_POLLS_BEFORE_SLEEP) {
      producer.waitForSpaceSync(1_000, ring.slotCount / 2);
      sleeps++;
      spins = 0;
    }
  }
  const heap = probe.stop(sent);
  producer.close();
  return { frames: sent, sleeps, checksum: 0, ...heap };
}

function ready(): void {
  Atomics.store(control, 1, 1);
  Atomics.notify(control, 1);
  Atomics.wait(control, 0, 0);
}

const report = data.role === 'consume' ? consume() : produce();
parentPort!.postMessage(report);
