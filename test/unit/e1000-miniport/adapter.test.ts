import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_INTERRUPT_MASK } from '../../../src/drivers/e1000/nic.ts';
import { E1000ConfigError, E1000StateError } from '../../../src/drivers/e1000/errors.ts';
import { Icr, Rctl, Reg, Tctl } from '../../../src/drivers/e1000/registers.ts';
import { MAX_RECEIVE_FRAME_LENGTH } from '../../../src/drivers/e1000/miniport/index.ts';
import { Irql } from '../../../src/kernel/index.ts';
import { makeRig, padded, testFrame, type Rig } from './rig.ts';
import { LINE } from './fake-nic.ts';
import { connectMarkerIsr } from '../../support/marker-isr.ts';
import { waitUntil } from '../../support/wait.ts';

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.cleanup();
  rig = undefined;
});

function sizes(count: number, seed = 7): number[] {
  let x = seed;
  return Array.from({ length: count }, (_, i) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return i % 9 === 0 ? 1514 : i % 9 === 1 ? 14 : 60 + (x % 1455);
  });
}

function firstMismatch(got: Buffer[], want: Buffer[]): string | undefined {
  const i = got.findIndex((g, k) => !want[k] || !g.equals(want[k]));
  if (i >= 0) return `frame ${i} differs (got ${got[i]!.length} bytes, want ${want[i]?.length})`;
  return got.length === want.length ? undefined : `got ${got.length} frames, want ${want.length}`;
}

describe('E1000Adapter (framework-neutral e1000 core) on the kernel model', () => {
  it('initializes from the EEPROM and RAL/RAH, reads the link, and unmasks the default causes on start', async () => {
    rig = makeRig();
    await rig.bringUp();
    expect(rig.adapter.mac).toBe('52:54:00:12:34:56');
    expect(rig.adapter.link).toEqual({ up: true, speedMbps: 1000, fullDuplex: true });
    expect(rig.adapter.state).toBe('running');
    expect(rig.nic.mask).toBe(DEFAULT_INTERRUPT_MASK >>> 0);
    expect(rig.nic.get(Reg.RCTL) & (Rctl.EN | Rctl.BAM)).toBe(Rctl.EN | Rctl.BAM);
    expect(rig.nic.get(Reg.TCTL) & Tctl.EN).toBe(Tctl.EN);
  });

  it('the ISR says "not ours" when ICR is zero, and otherwise masks the NIC and queues the DPC', async () => {
    rig = makeRig();
    await rig.bringUp();
    const r = rig;
    const outcomes = await r.kernel.runAtPassive('probe', async () => {
      // Run the ISR body the way a shared line would: first with nothing pending.
      return r.kernel.synchronizeExecution(r.edge.interrupt!, async () => (await r.adapter.isr()).recognized);
    });
    expect(outcomes).toBe(false);
    expect(r.adapter.counters.isrRecognized).toBe(0);

    r.nic.raise(Icr.TXDW);
    await r.kernel.quiesce();
    expect(r.adapter.counters.isrRecognized).toBe(1);
    expect(r.adapter.counters.dpcCalls).toBe(1);
    const imc = r.nic.writesTo(Reg.IMC).at(-1)!;
    expect(imc.value).toBe(0xffffffff);
    expect(imc.irql).toBeGreaterThan(Irql.DISPATCH_LEVEL);
    // The DPC unmasked the NIC again at its end, inside synchronize (at DIRQL).
    const ims = r.nic.writesTo(Reg.IMS).at(-1)!;
    expect(ims.value).toBe(DEFAULT_INTERRUPT_MASK >>> 0);
    expect(ims.irql).toBeGreaterThan(Irql.DISPATCH_LEVEL);
    expect(r.nic.mask).toBe(DEFAULT_INTERRUPT_MASK >>> 0);
  });

  it('causes saved by two ISR runs before the DPC are OR-accumulated and handled by one DPC', async () => {
    rig = makeRig();
    await rig.bringUp();
    const r = rig;
    await r.atDispatch(async () => {
      r.nic.inject(testFrame(1, 100));
      // A register access is a preemption point: the ISR runs nested, the DPC must wait (DISPATCH).
      await r.adapter.hardware.readLinkState();
      expect(r.adapter.counters.isrRecognized).toBe(1);
      // Another device event while the DPC is pending: unmask behind the driver's back, as a
      // shared-line neighbour's activity would make the ISR run again.
      r.nic.write32(Reg.IMS, Icr.LSC);
      r.nic.setLink(false);
      await r.adapter.hardware.readLinkState();
      expect(r.adapter.counters.isrRecognized).toBe(2);
      expect(r.adapter.counters.dpcCalls).toBe(0);
    });
    await r.kernel.quiesce();
    expect(r.adapter.counters.dpcCalls).toBe(1);
    expect(r.edge.received).toHaveLength(1);
    expect(r.edge.links).toEqual([{ up: false, speedMbps: 1000, fullDuplex: true }]);
  });

  it('sends 1,000 frames of mixed sizes in order and intact through a 64-descriptor ring, queueing what does not fit', async () => {
    rig = makeRig();
    await rig.bringUp();
    const r = rig;
    const frames = sizes(1000).map((len, i) => testFrame(i, len));
    const tdtBefore = r.nic.writesTo(Reg.TDT).length;
    let calls = 0;
    for (let i = 0; i < frames.length; i += 100) {
      const batch = frames.slice(i, i + 100);
      const taken = await r.atDispatch(() =>
        r.adapter.send((add) => {
          for (const f of batch) add(f, 0, f.length);
        }),
      );
      expect(taken).toBe(batch.length);
      calls++;
    }
    await r.kernel.quiesce();
    expect(firstMismatch(r.nic.sent, frames)).toBeUndefined();
    expect(r.edge.completed('sent')).toBe(1000);
    expect(r.adapter.queuedSends).toBe(0);
    const c = r.adapter.snapshot();
    expect(c).toMatchObject({ txQueued: 1000, txCompleted: 1000, txAborted: 0 });
    expect(c.txDeferred).toBeGreaterThan(0);
    // One doorbell per send call or per DPC pass that moved queued frames, never one per frame.
    const doorbells = r.nic.writesTo(Reg.TDT).length - tdtBefore;
    expect(doorbells).toBeLessThanOrEqual(calls + r.adapter.counters.dpcCalls);
    expect(doorbells).toBeLessThan(frames.length / 10);
  });

  it('a frame of a bad length throws and none of the frames of that call is taken', async () => {
    rig = makeRig();
    await rig.bringUp();
    const r = rig;
    const good = testFrame(1, 100);
    await r.atDispatch(async () => {
      await expect(
        r.adapter.send((add) => {
          add(good, 0, 100);
          add(good, 0, 13);
        }),
      ).rejects.toThrow(E1000ConfigError);
    });
    await r.kernel.quiesce();
    expect(r.nic.sent).toHaveLength(0);
    expect(r.adapter.counters.txQueued).toBe(0);
  });

  it('receives 300 frames through a 64-descriptor ring in order, in batches, refilling with one RDT write per DPC pass', async () => {
    rig = makeRig({ receiveBatch: 16 });
    await rig.bringUp();
    const r = rig;
    const frames = sizes(300, 3).map((len, i) => testFrame(i, len, 5));
    const rdtBefore = r.nic.writesTo(Reg.RDT).length;
    for (const f of frames) r.nic.inject(f);
    // The ring holds 63; the rest wait on the "wire" until descriptors come back.
    expect(r.nic.backlog.length).toBe(300 - 63);
    await r.kernel.quiesce();
    expect(firstMismatch(r.edge.received, frames.map(padded))).toBeUndefined();
    expect(Math.max(...r.edge.batches)).toBeLessThanOrEqual(16);
    const c = r.adapter.snapshot();
    expect(c.rxIndicated).toBe(300);
    expect(c.rxIndications).toBe(r.edge.batches.length);
    // A doorbell per half ring harvested, plus one at the end of each DPC pass: never one per frame.
    expect(r.nic.writesTo(Reg.RDT).length - rdtBefore).toBeLessThanOrEqual(Math.ceil(300 / 32) + c.dpcCalls);
  });

  it('drops and counts frames over OID_GEN_MAXIMUM_TOTAL_SIZE (1515..1522 bytes), indicating the rest in order', async () => {
    rig = makeRig({ receiveBatch: 4 });
    await rig.bringUp();
    const r = rig;
    const lengths = [60, 1514, 1515, 1518, 1522, 1000, 1519, 1514, 1521, 64];
    const frames = lengths.map((len, i) => testFrame(i, len, 9));
    for (const f of frames) r.nic.inject(f);
    await r.kernel.quiesce();
    const kept = frames.filter((f) => f.length <= MAX_RECEIVE_FRAME_LENGTH);
    expect(MAX_RECEIVE_FRAME_LENGTH).toBe(1514);
    expect(firstMismatch(r.edge.received, kept.map(padded))).toBeUndefined();
    const c = r.adapter.snapshot();
    expect(c).toMatchObject({ rxOversizeDropped: 5, rxIndicated: 5, rxErrors: 0 });
    // Their descriptors went back to the NIC: the ring keeps receiving.
    r.nic.inject(testFrame(99, 200, 9));
    await r.kernel.quiesce();
    expect(r.edge.received.at(-1)).toEqual(testFrame(99, 200, 9));
    expect(r.adapter.snapshot()).toMatchObject({ rxOversizeDropped: 5, rxIndicated: 6 });
  });

  it('a DPC that spends its receive budget queues itself again and leaves the NIC masked meanwhile', async () => {
    rig = makeRig({ rxRingSize: 256, receiveBatch: 8, receiveBudget: 16 });
    await rig.bringUp();
    const r = rig;
    const imsBefore = r.nic.writesTo(Reg.IMS).length;
    for (let i = 0; i < 100; i++) r.nic.inject(testFrame(i, 64));
    await r.kernel.quiesce();
    expect(r.edge.received).toHaveLength(100);
    expect(r.adapter.counters.dpcRequeued).toBeGreaterThanOrEqual(5);
    expect(r.adapter.counters.isrRecognized).toBe(1);
    // Only the last DPC of the chain unmasks.
    expect(r.nic.writesTo(Reg.IMS).length - imsBefore).toBe(1);
  });

  it('frames the upper layer keeps are not given back to the NIC until returned', async () => {
    rig = makeRig({ holdReceives: true, receiveBatch: 8 });
    await rig.bringUp();
    const r = rig;
    for (let i = 0; i < 20; i++) r.nic.inject(testFrame(i, 80));
    await r.kernel.quiesce();
    expect(r.adapter.heldReceives).toBe(20);
    const rdt = r.nic.get(Reg.RDT);
    const writesBefore = r.nic.writesTo(Reg.RDT).length;
    // The views of held frames still hold their bytes.
    expect(r.edge.received[0]).toEqual(padded(testFrame(0, 80)));
    await r.atDispatch(() => r.adapter.returnReceives(8));
    expect(r.nic.writesTo(Reg.RDT).length).toBe(writesBefore);
    await r.atDispatch(() => r.adapter.returnReceives(12));
    expect(r.nic.writesTo(Reg.RDT).length).toBe(writesBefore + 1);
    expect(r.nic.get(Reg.RDT)).toBe((rdt + 20) % 64);
    await r.atDispatch(async () => {
      await expect(r.adapter.returnReceives(1)).rejects.toThrow(E1000StateError);
    });
  });

  it('indicates link down and up from LSC after reading STATUS', async () => {
    rig = makeRig();
    await rig.bringUp();
    rig.nic.setLink(false);
    await rig.kernel.quiesce();
    rig.nic.setLink(true);
    await rig.kernel.quiesce();
    expect(rig.edge.links.map((l) => l.up)).toEqual([false, true]);
    expect(rig.adapter.counters.linkChanges).toBe(2);
  });

  it('packet filter, multicast list, moderation and mask changes are written at DIRQL through synchronize', async () => {
    rig = makeRig();
    await rig.bringUp();
    const r = rig;
    await r.atPassive(async () => {
      await r.adapter.setPacketFilter({ promiscuous: true, broadcast: true });
      await r.adapter.setMulticastList(['01:00:5e:00:00:fb']);
      await r.adapter.setInterruptThrottle({ itr: 500 });
      await r.adapter.setInterruptMask(Icr.RXT0 | Icr.LSC);
    });
    const rctl = r.nic.writesTo(Reg.RCTL).at(-1)!;
    expect(rctl.value & (Rctl.UPE | Rctl.MPE | Rctl.BAM | Rctl.EN)).toBe(Rctl.UPE | Rctl.MPE | Rctl.BAM | Rctl.EN);
    expect(rctl.irql).toBeGreaterThan(Irql.DISPATCH_LEVEL);
    const mta = r.nic.writes.filter((w) => w.offset >= Reg.MTA && w.offset < Reg.MTA + 512 && w.value !== 0);
    expect(mta).toHaveLength(1);
    expect(mta[0]!.irql).toBeGreaterThan(Irql.DISPATCH_LEVEL);
    expect(r.nic.writesTo(Reg.ITR).at(-1)).toMatchObject({ value: 500 });
    expect(r.nic.writesTo(Reg.ITR).at(-1)!.irql).toBeGreaterThan(Irql.DISPATCH_LEVEL);
    expect(r.nic.mask).toBe((Icr.RXT0 | Icr.LSC) >>> 0);
    expect(r.adapter.packetFilter.multicast).toEqual(['01:00:5e:00:00:fb']);
    await r.atPassive(async () => {
      await expect(r.adapter.setMulticastList(Array.from({ length: 33 }, () => '01:00:5e:00:00:01'))).rejects.toThrow(E1000ConfigError);
    });
  });

  it('a mask change while the DPC is pending does not unmask the NIC early', async () => {
    rig = makeRig();
    await rig.bringUp();
    const r = rig;
    await r.atDispatch(async () => {
      r.nic.inject(testFrame(1, 64));
      await r.adapter.hardware.readLinkState();
      expect(r.nic.mask).toBe(0);
      await r.adapter.setInterruptMask(Icr.RXT0);
      expect(r.nic.mask).toBe(0);
    });
    await r.kernel.quiesce();
    expect(r.nic.mask).toBe(Icr.RXT0);
  });

  it('statistics combine the NIC counters with the driver counters', async () => {
    rig = makeRig();
    await rig.bringUp();
    const r = rig;
    const frames = [testFrame(1, 100), testFrame(2, 200)];
    await r.atDispatch(() =>
      r.adapter.send((add) => {
        for (const f of frames) add(f, 0, f.length);
      }),
    );
    r.nic.inject(testFrame(3, 70));
    await r.kernel.quiesce();
    const s = await r.atPassive(() => r.adapter.statistics());
    expect(s.nic.goodPacketsTransmitted).toBe(2);
    expect(s.nic.goodPacketsReceived).toBe(1);
    expect(s.driver).toMatchObject({ txQueued: 2, txCompleted: 2, rxIndicated: 1, rxBytes: 70 });
    expect(s.txRing.submitted).toBe(2);
    expect(s.rxRing.received).toBe(1);
  });

  it('halt masks the NIC, turns RX and TX off, aborts unsent frames, frees every DMA region; no ISR runs afterwards', async () => {
    rig = makeRig();
    await rig.bringUp();
    const r = rig;
    // Hold the TX unit back so that frames stay queued in the ring and the wait queue.
    r.nic.regs.set(Reg.TCTL, 0);
    const frames = Array.from({ length: 100 }, (_, i) => testFrame(i, 128));
    await r.atDispatch(() =>
      r.adapter.send((add) => {
        for (const f of frames) add(f, 0, f.length);
      }),
    );
    expect(r.adapter.queuedSends).toBe(100 - 63);
    await r.halt();
    expect(r.adapter.state).toBe('released');
    expect(r.nic.mask).toBe(0);
    expect(r.nic.get(Reg.RCTL) & Rctl.EN).toBe(0);
    expect(r.edge.completed('sent') + r.edge.completed('aborted')).toBe(100);
    expect(r.adapter.counters.txAborted).toBe(r.edge.completed('aborted'));
    expect(r.dma.live.size).toBe(0);
    const isr = r.isrCalls();
    const dpcs = r.adapter.counters.dpcCalls;
    const marker = connectMarkerIsr(r.kernel, LINE, () => r.nic.write32(Reg.IMC, 0xffffffff));
    r.nic.write32(Reg.IMS, 0xffffffff);
    r.nic.raise(Icr.TXDW | Icr.RXT0);
    r.nic.inject(testFrame(9, 64));
    await r.kernel.quiesce();
    expect(marker.calls).toBe(1);
    expect(r.isrCalls()).toBe(isr);
    expect(r.adapter.counters.dpcCalls).toBe(dpcs);
    expect(await r.atDispatch(() => r.adapter.send((add) => add(frames[0]!, 0, 128)))).toBe(0);
  });

  /** A rig brought up whose NIC holds back TX (TCTL.EN clear), with 100 frames sent: pausing has them to wait for. */
  async function withHeldSends(): Promise<{ r: Rig; frames: Buffer[] }> {
    rig = makeRig();
    await rig.bringUp();
    const r = rig;
    r.nic.regs.set(Reg.TCTL, 0);
    const frames = Array.from({ length: 100 }, (_, i) => testFrame(i, 200));
    await r.atDispatch(() =>
      r.adapter.send((add) => {
        for (const f of frames) add(f, 0, f.length);
      }),
    );
    return { r, frames };
  }

  it("pause gives up on sends the NIC never finishes once the framework's up time passes its 2 s limit (not the host's clock)", async () => {
    const { r } = await withHeldSends();
    let upTime = 5_000;
    vi.spyOn(r.edge, 'upTimeMs').mockImplementation(() => upTime);
    const delays = vi.spyOn(r.edge, 'delay');
    const paused = r.atPassive(() => r.adapter.pause());
    await waitUntil('pause to wait for the sends', () => delays.mock.calls.length >= 3);
    expect(r.adapter.state).toBe('pausing');
    upTime += 2_001;
    const waitsBefore = delays.mock.calls.length;
    await paused;
    // Given up at the next check: the host's clock, 2 s on, would have meant a thousand more waits.
    expect(delays.mock.calls.length - waitsBefore).toBeLessThanOrEqual(1);
    expect(r.adapter.state).toBe('paused');
    expect(r.edge.completed('aborted')).toBe(100);
    expect(r.edge.completed('sent')).toBe(0);
  });

  it('pause on a removed NIC aborts its sends and does not wait for what the NIC holds', async () => {
    const { r } = await withHeldSends();
    r.adapter.surpriseRemoved();
    const delays = vi.spyOn(r.edge, 'delay');
    await r.atPassive(() => r.adapter.pause());
    expect(r.adapter.state).toBe('paused');
    expect(delays).not.toHaveBeenCalled();
    expect(r.edge.completed('aborted')).toBe(100);
  });

  it('pause finishes queued sends, stops indicating receives until restart, and keeps link indications', async () => {
    const { r, frames } = await withHeldSends();
    const delays = vi.spyOn(r.edge, 'delay');
    const paused = r.atPassive(() => r.adapter.pause());
    // The positive control: pause has found the sends outstanding twice and waits between checks.
    await waitUntil('pause to wait for the queued sends', () => delays.mock.calls.length >= 2);
    expect(r.adapter.state).toBe('pausing');
    expect(await r.atDispatch(() => r.adapter.send((add) => add(frames[0]!, 0, 200)))).toBe(0);
    r.nic.regs.set(Reg.TCTL, Tctl.EN);
    r.nic.write32(Reg.TDT, r.nic.get(Reg.TDT));
    await paused;
    expect(r.adapter.state).toBe('paused');
    expect(firstMismatch(r.nic.sent, frames)).toBeUndefined();
    expect(r.edge.completed('sent')).toBe(100);

    for (let i = 0; i < 5; i++) r.nic.inject(testFrame(i, 90, 3));
    r.nic.setLink(false);
    await r.kernel.quiesce();
    expect(r.edge.received).toHaveLength(0);
    expect(r.edge.links.map((l) => l.up)).toEqual([false]);
    await r.atPassive(() => r.adapter.restart());
    await r.kernel.quiesce();
    expect(r.edge.received.map((f) => f.readUInt32BE(14))).toEqual([0, 1, 2, 3, 4]);
  });

  it.each([1, 2, 3, 4, 5])('two processors sending while frames arrive keep TX and RX order (seed %i)', async (seed) => {
    rig = makeRig({ processors: 2, seed, receiveBatch: 8 });
    await rig.bringUp();
    const r = rig;
    const tx = Array.from({ length: 400 }, (_, i) => testFrame(i, 60 + (i % 50) * 29, 1));
    const rx = Array.from({ length: 200 }, (_, i) => testFrame(i, 64 + (i % 40) * 31, 2));
    // One protocol instance per processor; frames split so each keeps its own order: evens on 0, odds on 1.
    const evens = tx.filter((_, i) => i % 2 === 0);
    const odds = tx.filter((_, i) => i % 2 === 1);
    const sender = async (list: Buffer[], p: number) => {
      for (let i = 0; i < list.length; i += 20) {
        const chunk = list.slice(i, i + 20);
        await r.atDispatch(
          () =>
            r.adapter.send((add) => {
              for (const f of chunk) add(f, 0, f.length);
            }),
          p,
        );
      }
    };
    const injector = (async () => {
      for (let i = 0; i < rx.length; i += 10) {
        for (const f of rx.slice(i, i + 10)) r.nic.inject(f);
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await Promise.all([sender(evens, 0), sender(odds, 1), injector]);
    await r.kernel.quiesce();
    expect(r.nic.sent).toHaveLength(400);
    const sentEvens = r.nic.sent.filter((f) => f.readUInt32BE(14) % 2 === 0);
    const sentOdds = r.nic.sent.filter((f) => f.readUInt32BE(14) % 2 === 1);
    expect(firstMismatch(sentEvens, evens)).toBeUndefined();
    expect(firstMismatch(sentOdds, odds)).toBeUndefined();
    expect(firstMismatch(r.edge.received, rx.map(padded))).toBeUndefined();
    expect(r.edge.completed('sent')).toBe(400);
    // TDT only ever moves forward around the ring.
    const tdts = r.nic
      .writesTo(Reg.TDT)
      .map((w) => w.value)
      .filter((_, i) => i > 0);
    let total = 0;
    for (let i = 1; i < tdts.length; i++) total += (tdts[i]! - tdts[i - 1]! + 64) % 64;
    expect(total + tdts[0]!).toBe(400);
  });
});
