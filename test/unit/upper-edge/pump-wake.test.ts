import { afterEach, describe, expect, it, vi } from 'vitest';
import { PacketRing } from '../../../src/ring/index.ts';
import { PumpWake } from '../../../src/upper-edge/pump-wake.ts';
import { TransmitPath } from '../../../src/upper-edge/transmit-path.ts';

/** Let every queued microtask and one macrotask turn run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** `waiting` stays pending through a turn of the event loop, and ends once `wake` is woken. */
async function expectPendingUntilWake(wake: PumpWake, waiting: Promise<unknown>): Promise<void> {
  let done = false;
  void waiting.then(() => {
    done = true;
  });
  await settle();
  expect(done).toBe(false);
  wake.wake();
  await settle();
  expect(done).toBe(true);
}

describe('PumpWake (upper-edge pump sleep)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('next() resolves at the following wake(), not before', async () => {
    const wake = new PumpWake();
    await expectPendingUntilWake(wake, wake.next());
  });

  it('a wake() while nobody waits is not kept for the next wait', async () => {
    const wake = new PumpWake();
    wake.wake();
    await expectPendingUntilWake(wake, wake.next());
  });

  it('waits without arming a timer', async () => {
    // Not a sleep: the spy proves the wait arms no timer.
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    const ring = new PacketRing({ slotCount: 8, slotSize: 128 });
    const tx = new TransmitPath(ring);
    const wake = new PumpWake();
    const idle = wake.idle(tx, 4);
    const next = wake.next();
    wake.wake();
    await Promise.all([idle, next]);
    expect(setTimeoutSpy).not.toHaveBeenCalled();
    tx.close();
  });

  it('idle with nothing in flight sleeps on the TX ring too, and frames from a producer end it', async () => {
    const ring = new PacketRing({ slotCount: 8, slotSize: 128 });
    const tx = new TransmitPath(ring);
    const wake = new PumpWake();
    const idle = wake.idle(tx, 4);
    expect(ring.stats().consumerWaiting).toBe(true);
    const producer = ring.producer();
    expect(producer.tryEnqueue(Buffer.alloc(60, 1))).toBe(true);
    expect(producer.wakeupsSent).toBe(1);
    // The ring wait's answer (frames ready), not wake()'s.
    expect(await idle).toBe(true);
    producer.close();
    tx.close();
  });

  it('idle with sends in flight, or no room, waits for wake() only (not on the ring)', async () => {
    const ring = new PacketRing({ slotCount: 8, slotSize: 128 });
    const producer = ring.producer();
    producer.tryEnqueue(Buffer.alloc(60, 1));
    const tx = new TransmitPath(ring);
    tx.next(1);
    tx.handOut(1);
    const wake = new PumpWake();
    const inFlight = wake.idle(tx, 4);
    expect(ring.stats().consumerWaiting).toBe(false);
    await expectPendingUntilWake(wake, inFlight);

    tx.complete(0, true);
    tx.releaseCompleted();
    const noRoom = wake.idle(tx, 0);
    expect(ring.stats().consumerWaiting).toBe(false);
    await expectPendingUntilWake(wake, noRoom);
    producer.close();
    tx.close();
  });

  it('keeps one outstanding wait on the TX ring across idle calls', async () => {
    const ring = new PacketRing({ slotCount: 8, slotSize: 128 });
    const tx = new TransmitPath(ring);
    const ringWait = vi.spyOn(tx, 'waitForFrames');
    const wake = new PumpWake();
    const first = wake.idle(tx, 4);
    wake.wake();
    await first;
    const second = wake.idle(tx, 4);
    expect(ringWait).toHaveBeenCalledTimes(1);
    const producer = ring.producer();
    producer.tryEnqueue(Buffer.alloc(60, 1));
    await second;
    // The ring wait has ended: the next idle starts a new one.
    await settle();
    const third = wake.idle(tx, 4);
    expect(ringWait).toHaveBeenCalledTimes(2);
    wake.wake();
    await third;
    producer.close();
    tx.close();
  });
});
