/**
 * SendPump's poolEmpty: one count per stretch without room, however often the pump is woken in it
 * (a replay wakes it for its held-back hand-outs; a producer on this thread kicks it), so a replay
 * counts what the recorded session did.
 */
import { describe, expect, it } from 'vitest';
import { PacketRing } from '../../../src/ring/index.ts';
import { TransmitPath } from '../../../src/upper-edge/index.ts';
import { SendPump, type FrameSender } from '../../../src/upper-edge/send-pump.ts';

/** A sender with `slots` sends in flight at most; complete() frees one. */
class SlotSender implements FrameSender {
  inFlight = 0;
  sent = 0;
  private sentWaiters: { n: number; resolve: () => void }[] = [];
  constructor(private readonly slots: number) {}
  room(): number {
    return this.slots - this.inFlight;
  }
  live(): boolean {
    return true;
  }
  send(_first: number, count: number): void {
    this.inFlight += count;
    this.sent += count;
    this.sentWaiters = this.sentWaiters.filter((w) => (this.sent >= w.n ? (w.resolve(), false) : true));
  }
  sentAtLeast(n: number): Promise<void> {
    return this.sent >= n ? Promise.resolve() : new Promise((resolve) => this.sentWaiters.push({ n, resolve }));
  }
}

/** Lets the pump run until it waits again (its loop continues on microtasks only). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('SendPump.poolEmpty', () => {
  it('counts a stretch without room once, however many wakes come before a completion frees room', async () => {
    const ring = new PacketRing({ slotCount: 16, slotSize: 128 });
    const producer = ring.producer();
    for (let i = 0; i < 8; i++) expect(producer.tryEnqueue(Buffer.alloc(60, i))).toBe(true);
    const tx = new TransmitPath(ring);
    const sender = new SlotSender(2);
    const pump = new SendPump(tx, 1, sender);
    pump.start((err) => {
      throw err;
    });
    await sender.sentAtLeast(2);
    await settle();
    expect(pump.poolEmpty).toBe(1);
    // Wakes that free no room (a replay's, a producer's kick): the same stretch.
    for (let i = 0; i < 5; i++) {
      pump.wake();
      await settle();
    }
    expect(pump.poolEmpty).toBe(1);
    expect(sender.sent).toBe(2);
    // A completion frees room: the pump sends one and runs out again, a second stretch.
    sender.inFlight--;
    pump.wake();
    await sender.sentAtLeast(3);
    await settle();
    expect(pump.poolEmpty).toBe(2);
    await pump.stop();
  });
});
