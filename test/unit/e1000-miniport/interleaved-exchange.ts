import { expect } from 'vitest';
import type { Kernel } from '../../../src/kernel/index.ts';
import type { PacketRing } from '../../../src/ring/index.ts';
import { drainRx } from './fake-machine.ts';
import { waitUntil } from '../../support/wait.ts';
import type { FakeE1000 } from './fake-nic.ts';
import { padded, testFrame } from './rig.ts';

/** What the interleaved exchange drives: a variant's stack on the fake NIC. */
export interface ExchangeStack {
  kernel: Kernel;
  nic: FakeE1000;
  edge: { kick(): void };
  txRing: PacketRing;
  rxRing: PacketRing;
}

/**
 * 400 frames sent through the TX ring in batches of 50 while 200 frames arrive 25 at a time in
 * between: every frame reaches the NIC or the RX ring in order and intact, and nothing bug-checks.
 * The variant stacks run it on two processors with several seeds.
 */
export async function expectInterleavedExchangeIntact(s: ExchangeStack): Promise<void> {
  const tx = Array.from({ length: 400 }, (_, i) => testFrame(i, 60 + ((i * 37) % 1455)));
  const rx = Array.from({ length: 200 }, (_, i) => testFrame(i, 60 + ((i * 41) % 1400), 3));
  const producer = s.txRing.producer();
  let next = 0;
  let injected = 0;
  while (next < tx.length) {
    next += producer.enqueueBatch(tx.slice(next, next + 50));
    s.edge.kick();
    for (let k = 0; k < 25 && injected < rx.length; k++) s.nic.inject(rx[injected++]!);
    await waitUntil('the NIC to send what was queued', () => s.nic.sent.length >= next);
  }
  producer.close();
  await s.kernel.quiesce();
  await waitUntil('every received frame in the RX ring', () => s.rxRing.stats().enqueued === rx.length);
  expect(drainRx(s.rxRing)).toEqual(rx.map(padded));
  expect(s.nic.sent.every((f, i) => f.equals(tx[i]!))).toBe(true);
  expect(s.kernel.stopped).toBeNull();
}
