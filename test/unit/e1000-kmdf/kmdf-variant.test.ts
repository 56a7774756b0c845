/**
 * The KMDF e1000 driver with its request-based upper edge on the fake 82540EM: the PnP/power
 * sequence, writes batched from a sequential queue, reads completed from the DPC, frames waiting
 * for reads, interrupt-lock variants, link notifications, stop and removal.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_INTERRUPT_MASK } from '../../../src/drivers/e1000/nic.ts';
import { STATUS_BUFFER_OVERFLOW } from '../../../src/drivers/e1000/kmdf/index.ts';
import { Icr, Rctl, Reg, Tctl } from '../../../src/drivers/e1000/registers.ts';
import { Irql } from '../../../src/kernel/index.ts';
import { NtStatus, type WdfRequestCompletion } from '../../../src/wdf/index.ts';
import { padded, testFrame } from '../e1000-miniport/rig.ts';
import { sendThroughRing } from '../e1000-miniport/fake-machine.ts';
import { expectInterleavedExchangeIntact } from '../e1000-miniport/interleaved-exchange.ts';
import { bringUpKmdf, drainRx, type KmdfStack } from './stack.ts';
import { waitUntil } from '../../support/wait.ts';
import { connectMarkerIsr } from '../../support/marker-isr.ts';
import { LINE } from '../e1000-miniport/fake-nic.ts';

let stack: KmdfStack | undefined;
afterEach(async () => {
  await stack?.cleanup();
  stack = undefined;
});

describe('KMDF e1000 driver (fake NIC)', () => {
  it('starts: PrepareHardware initialises the core, interrupts connected and enabled, the core unmasks the NIC after D0 entry', async () => {
    stack = await bringUpKmdf();
    const { wdf, driver, nic, kernel, edge } = stack;
    expect(wdf.deviceState()).toBe('started');
    expect(driver.core!.state).toBe('running');
    expect(driver.inD0).toBe(true);
    expect(kernel.connectedInterrupts.map((i) => i.name)).toEqual(['E1000EvtInterruptIsr']);
    expect(nic.mask).toBe(DEFAULT_INTERRUPT_MASK);
    // The core's IMS write went through WdfInterruptSynchronize (DIRQL).
    expect(nic.writesTo(Reg.IMS).every((w) => w.irql !== undefined && w.irql > Irql.DISPATCH_LEVEL)).toBe(true);
    expect(edge.linkUp).toBe(true);
    expect(edge.readsOutstanding).toBe(64);
  });

  it('writes from the TX ring reach the NIC in order, several per EvtIoWrite and per doorbell; every request completes and every slot comes back', async () => {
    stack = await bringUpKmdf();
    const frames = Array.from({ length: 600 }, (_, i) => testFrame(i, 60 + ((i * 37) % 1455)));
    await sendThroughRing(stack, frames);
    const { nic, edge, driver } = stack;
    expect(nic.sent).toHaveLength(600);
    expect(nic.sent.every((f, i) => f.equals(frames[i]!))).toBe(true);
    expect(edge.counters.tx).toMatchObject({ handedOut: 600, completed: 600, failed: 0, released: 600, writesSubmitted: 600 });
    expect(driver.counters).toMatchObject({ writesTaken: 600, writesCompleted: 600, writesInvalid: 0 });
    expect(driver.counters.writesPresented).toBeLessThan(600 / 4);
    expect(nic.writesTo(Reg.TDT).length).toBeLessThan(600 / 8);
  });

  it('received frames complete pending reads from the DPC, in order, one copy each into the RX ring', async () => {
    stack = await bringUpKmdf();
    const { nic, rxRing, driver, kernel, edge } = stack;
    const frames = Array.from({ length: 150 }, (_, i) => testFrame(i, 42 + ((i * 53) % 1470), 9));
    for (const f of frames) nic.inject(f);
    await kernel.quiesce();
    await waitUntil('every frame published', () => edge.counters.rx.frames === 150);
    expect(drainRx(rxRing)).toEqual(frames.map(padded));
    expect(driver.counters).toMatchObject({ readsCompleted: 150, readsTruncated: 0 });
    expect(driver.counters.isrRecognized).toBeGreaterThan(0);
    expect(driver.counters.dpcCalls).toBeGreaterThan(0);
    expect(nic.mask).toBe(DEFAULT_INTERRUPT_MASK);
  });

  it('a consumer behind on the RX ring: fewer reads stay pending than asked, counted once a stretch (readsShortOfRing)', async () => {
    stack = await bringUpKmdf({ readsPending: 128 });
    const { nic, kernel, edge } = stack;
    let sent = 0;
    const receive = async (n: number): Promise<void> => {
      for (let batch = 0; batch < n; batch += 50) {
        for (let i = batch; i < Math.min(n, batch + 50); i++) nic.inject(testFrame(sent++, 100, 5));
        await kernel.quiesce();
        await waitUntil('every frame published', () => edge.counters.rx.frames === sent);
      }
    };
    // 256 slots, 128 reads wanted. With nothing consumed, the free slots end where the slot array
    // does, so the end, not the consumer, is what limits a top-up.
    expect(edge.readsOutstanding).toBe(128);
    await receive(150);
    expect(edge.counters.rx.readsShortOfRing).toBe(0);
    // All consumed (the head at slot 150). The ring fills again across the end of the slot array;
    // once the reads from slot 0 reach the consumer's head, they fall short of 128.
    expect(drainRx(stack.rxRing)).toHaveLength(150);
    await receive(100);
    expect(edge.counters.rx.readsShortOfRing).toBe(0);
    await receive(60);
    expect(edge.readsOutstanding).toBeLessThan(128);
    expect(edge.counters.rx.readsShortOfRing).toBe(1);
    await receive(10);
    expect(edge.counters.rx.readsShortOfRing).toBe(1);
  });

  it('frames that find no read wait (the NIC is not refilled meanwhile) and go, in order, to reads that come later', async () => {
    stack = await bringUpKmdf({ withoutEdge: true, heldRetryMs: 1 });
    const { nic, wdf, driver, kernel } = stack;
    const frames = Array.from({ length: 80 }, (_, i) => testFrame(i, 100 + i, 7));
    for (const f of frames) nic.inject(f);
    await kernel.quiesce();
    // 64 descriptors: the NIC took 63 (one stays empty), all waiting; the rest back-pressure in the NIC.
    expect(driver.framesWaiting).toBe(63);
    expect(nic.backlog.length).toBe(80 - 63);
    const got: Promise<WdfRequestCompletion>[] = [];
    const buffers = frames.map(() => new Uint8Array(2048));
    for (const b of buffers) got.push(wdf.submitRead(undefined, b));
    const done = await Promise.all(got);
    expect(done.map((d) => d.status)).toEqual(frames.map(() => NtStatus.STATUS_SUCCESS));
    expect(done.map((d, i) => Buffer.from(buffers[i]!.subarray(0, d.information)))).toEqual(frames.map(padded));
    expect(driver.counters.retryTimerRuns).toBeGreaterThan(0);
    expect(driver.framesWaiting).toBe(0);
  });

  it('a read whose buffer is too small gets the start of the frame with STATUS_BUFFER_OVERFLOW', async () => {
    stack = await bringUpKmdf({ withoutEdge: true });
    const { nic, wdf, driver } = stack;
    const small = new Uint8Array(32);
    const read = wdf.submitRead(undefined, small);
    const frame = testFrame(1, 200);
    nic.inject(frame);
    const done = await read;
    expect(done).toEqual({ status: STATUS_BUFFER_OVERFLOW, information: 32 });
    expect(Buffer.from(small)).toEqual(frame.subarray(0, 32));
    expect(driver.counters.readsTruncated).toBe(1);
  });

  it('a write of a bad length completes at once with STATUS_INVALID_PARAMETER; the others are sent', async () => {
    stack = await bringUpKmdf({ withoutEdge: true });
    const { wdf, nic, driver } = stack;
    const results = await Promise.all([
      wdf.submitWrite(undefined, testFrame(1, 100)),
      wdf.submitWrite(undefined, new Uint8Array(10)),
      wdf.submitWrite(undefined, testFrame(2, 1514)),
    ]);
    expect(results.map((r) => r.status)).toEqual([NtStatus.STATUS_SUCCESS, NtStatus.STATUS_INVALID_PARAMETER, NtStatus.STATUS_SUCCESS]);
    expect(results[0]!.information).toBe(100);
    expect(nic.sent.map((f) => f.length)).toEqual([100, 1514]);
    expect(driver.counters.writesInvalid).toBe(1);
  });

  it.each(['synchronize', 'acquire-lock'] as const)('register read-modify-writes at lower IRQL exclude the ISR (%s): RCTL is written at DIRQL', async (interruptLocking) => {
    stack = await bringUpKmdf({ interruptLocking });
    const { kernel, driver, nic } = stack;
    const before = nic.writesTo(Reg.RCTL).length;
    await kernel.runAtPassive('SetFilterIoctl', () => driver.core!.setPacketFilter({ broadcast: true, promiscuous: true }));
    const writes = nic.writesTo(Reg.RCTL).slice(before);
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.every((w) => w.irql !== undefined && w.irql > Irql.DISPATCH_LEVEL)).toBe(true);
    expect(nic.get(Reg.RCTL) & Rctl.UPE).toBe(Rctl.UPE);
  });

  it('link changes reach the upper edge', async () => {
    stack = await bringUpKmdf();
    const { nic, kernel, edge } = stack;
    nic.setLink(false);
    await kernel.quiesce();
    nic.setLink(true);
    await kernel.quiesce();
    expect(edge.linkEvents.map((e) => [e.up, e.speed])).toEqual([
      [false, 0],
      [true, 1_000_000_000],
    ]);
    expect(edge.linkUp).toBe(true);
  });

  it('stop: every write completed, interrupts disconnected (no ISR or DPC afterwards), DMA freed; removal cancels pending reads', async () => {
    stack = await bringUpKmdf();
    const { wdf, nic, kernel, driver, edge, dma } = stack;
    await sendThroughRing(
      stack,
      Array.from({ length: 40 }, (_, i) => testFrame(i, 64)),
    );
    const pending = Array.from({ length: 20 }, (_, i) => wdf.submitWrite(undefined, testFrame(100 + i, 80)));
    await edge.stop();
    await wdf.stopDevice();
    const results = await Promise.all(pending);
    expect(results.every((r) => r.status === NtStatus.STATUS_SUCCESS || r.status === NtStatus.STATUS_CANCELLED)).toBe(true);
    expect(nic.sent.length).toBe(40 + results.filter((r) => r.status === NtStatus.STATUS_SUCCESS).length);
    expect(kernel.connectedInterrupts).toHaveLength(0);
    expect(driver.core!.state).toBe('released');
    expect(dma.live.size).toBe(0);
    expect(nic.mask).toBe(0);
    const calls = { isr: driver.counters.isrCalls, dpc: driver.counters.dpcCalls };
    const marker = connectMarkerIsr(kernel, LINE, () => nic.write32(Reg.IMC, 0xffffffff));
    nic.write32(Reg.IMS, 0xffffffff);
    nic.raise(Icr.RXT0 | Icr.TXDW | Icr.LSC);
    await kernel.quiesce();
    expect(marker.calls).toBe(1);
    expect({ isr: driver.counters.isrCalls, dpc: driver.counters.dpcCalls }).toEqual(calls);
    await wdf.removeDevice();
    await edge.close();
    expect(edge.counters.rx.readsFailed).toBe(64);
    expect(kernel.stopped).toBeNull();
  });

  it('writes the hardware still owns when the device leaves D0 are acknowledged in EvtIoStop, then cancelled when the NIC quiesces', async () => {
    stack = await bringUpKmdf({ withoutEdge: true });
    const { wdf, nic, driver, kernel } = stack;
    // Behind the driver's back the transmitter stops: descriptors handed over never complete.
    nic.write32(Reg.TCTL, nic.get(Reg.TCTL) & ~Tctl.EN);
    const writes = Array.from({ length: 5 }, (_, i) => wdf.submitWrite(undefined, testFrame(i, 90)));
    await waitUntil('the driver to take the writes', () => driver.counters.writesTaken === 5);
    await wdf.stopDevice();
    const results = await Promise.all(writes);
    expect(results.map((r) => r.status)).toEqual(Array(5).fill(NtStatus.STATUS_CANCELLED));
    expect(driver.counters).toMatchObject({ writesStopAcknowledged: 5, writesCancelled: 5, writesCompleted: 0 });
    expect(driver.core!.snapshot()).toMatchObject({ txAborted: 5 });
    expect(nic.sent).toHaveLength(0);
    expect(kernel.stopped).toBeNull();
  });

  it.each([1, 2, 3, 4])('on two processors (seed %i), sends and receives interleave with nothing lost, reordered or corrupted', async (seed) => {
    stack = await bringUpKmdf({ processors: 2, seed });
    await expectInterleavedExchangeIntact(stack);
  });
});
