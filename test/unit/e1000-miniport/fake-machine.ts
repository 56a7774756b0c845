/**
 * The fake 82540EM on a kernel with fake lines, and the ring helpers the e1000 stack tests (core
 * rig, NDIS 6, NDIS 5 and KMDF variants) share.
 */
import type { KernelOptions } from '../../../src/kernel/index.ts';
import type { PacketRing } from '../../../src/ring/index.ts';
import { kernelOnFakeLines, type KernelOnFakeLines } from '../../support/kernel-rig.ts';
import { BumpDma, FakeE1000, TestMemory } from './fake-nic.ts';
import { waitUntil } from '../../support/wait.ts';

export interface FakeE1000Machine extends KernelOnFakeLines {
  memory: TestMemory;
  dma: BumpDma;
  nic: FakeE1000;
}

/**
 * Kernel, lines, guest memory, DMA allocator and NIC; `cleanup` disposes the kernel and removes its
 * directory. The lockset verifier stops the driver at its first finding (the reference miniport has none).
 */
export function fakeE1000Machine(tmpPrefix: string, kernelOptions: Omit<KernelOptions, 'lines' | 'bugCheckDir'> = {}): FakeE1000Machine {
  const base = kernelOnFakeLines(tmpPrefix, { ...kernelOptions, verifier: { lockset: 'stop', ...kernelOptions.verifier } });
  const memory = new TestMemory();
  const dma = new BumpDma();
  return { ...base, memory, dma, nic: new FakeE1000(memory, base.lines, base.kernel) };
}

/** Every frame now in the ring, copied out, oldest first. */
export function drainRx(ring: PacketRing): Buffer[] {
  const consumer = ring.consumer();
  const out: Buffer[] = [];
  while (consumer.dequeueBatch((view, length) => out.push(Buffer.from(view.subarray(0, length)))) > 0);
  consumer.close();
  return out;
}

/** Write `frames` to the TX ring, kicking the edge, until the NIC sent them all and every slot is released. */
export async function sendThroughRing(s: { txRing: PacketRing; edge: { kick(): void }; nic: FakeE1000 }, frames: Buffer[]): Promise<void> {
  const producer = s.txRing.producer();
  let next = 0;
  while (next < frames.length) {
    next += producer.enqueueBatch(frames.slice(next));
    s.edge.kick();
    await waitUntil('the NIC to send what was queued', () => s.nic.sent.length >= next);
  }
  await waitUntil('every TX slot released', () => s.txRing.stats().dequeued === frames.length);
  producer.close();
}
