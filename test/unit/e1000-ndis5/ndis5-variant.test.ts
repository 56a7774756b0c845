/**
 * The NDIS 5.1 e1000 miniport with the NDIS 5 upper edge on the fake 82540EM: both interrupt
 * registrations (MiniportISR on a shared line; MiniportDisableInterrupt), data both ways through the
 * PacketRings, NDIS_STATUS_RESOURCES lending, OIDs, media status, halt.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_INTERRUPT_MASK } from '../../../src/drivers/e1000/nic.ts';
import { Icr, Rctl, Reg } from '../../../src/drivers/e1000/registers.ts';
import { Irql, type Kernel } from '../../../src/kernel/index.ts';
import { NdisAttribute, NdisPacketType, NdisStatus, Oid, type Ndis5, type Ndis5Adapter, type NdisPacket, type ProtocolBinding5 } from '../../../src/ndis/ndis5/index.ts';
import { LINE, type FakeLines } from '../e1000-miniport/fake-nic.ts';
import { padded, testFrame } from '../e1000-miniport/rig.ts';
import { sendThroughRing } from '../e1000-miniport/fake-machine.ts';
import { expectInterleavedExchangeIntact } from '../e1000-miniport/interleaved-exchange.ts';
import { bringUpNdis5, drainRx, type Ndis5Stack } from './stack.ts';
import { waitUntil } from '../../support/wait.ts';
import { connectMarkerIsr } from '../../support/marker-isr.ts';

let stack: Ndis5Stack | undefined;
afterEach(async () => {
  await stack?.cleanup();
  stack = undefined;
});

describe('NDIS 5 e1000 miniport (fake NIC)', () => {
  it('initializes as a deserialized bus master with MiniportISR on a shared line, interrupts unmasked, link read by the protocol', async () => {
    stack = await bringUpNdis5();
    const { adapter, nic, miniport, edge } = stack;
    expect(adapter.state).toBe('running');
    expect(adapter.attributeFlags & (NdisAttribute.DESERIALIZE | NdisAttribute.BUS_MASTER)).toBe(NdisAttribute.DESERIALIZE | NdisAttribute.BUS_MASTER);
    expect(adapter.interrupt).toMatchObject({ requestIsr: true, sharedInterrupt: true, usesIsr: true });
    expect(miniport.core.state).toBe('running');
    expect(nic.mask).toBe(DEFAULT_INTERRUPT_MASK);
    expect(edge.linkUp).toBe(true);
  });

  it('frames written to the TX ring reach the NIC in order; packets and ring slots all come back', async () => {
    stack = await bringUpNdis5();
    const frames = Array.from({ length: 600 }, (_, i) => testFrame(i, 60 + ((i * 37) % 1455)));
    await sendThroughRing(stack, frames);
    const { nic, edge, adapter } = stack;
    expect(nic.sent).toHaveLength(600);
    expect(nic.sent.every((f, i) => f.equals(frames[i]!))).toBe(true);
    expect(edge.counters.tx).toMatchObject({ handedOut: 600, completed: 600, failed: 0, released: 600 });
    expect(adapter.statistics).toMatchObject({ packetsSent: 600, sendsCompleted: 600, sendsFailed: 0 });
    expect(adapter.sendsOutstanding).toBe(0);
    // Batched: far fewer doorbells than frames.
    expect(nic.writesTo(Reg.TDT).length).toBeLessThan(600 / 8);
  });

  it('received frames land in the RX ring in order; MiniportISR queues MiniportHandleInterrupt, which re-enables the NIC', async () => {
    stack = await bringUpNdis5();
    const { nic, rxRing, adapter, kernel, miniport } = stack;
    const frames = Array.from({ length: 150 }, (_, i) => testFrame(i, 42 + ((i * 53) % 1470), 9));
    for (const f of frames) nic.inject(f);
    await kernel.quiesce();
    expect(drainRx(rxRing)).toEqual(frames.map(padded));
    expect(adapter.statistics).toMatchObject({ packetsIndicated: 150, packetsReturned: 150 });
    expect(adapter.packetsOutstanding).toBe(0);
    expect(miniport.counters.isrRecognized).toBeGreaterThan(0);
    expect(miniport.counters.handleInterruptCalls).toBeGreaterThan(0);
    expect(miniport.counters.disableInterruptCalls).toBe(0);
    // The ISR masked at DIRQL; the NIC is unmasked again once MiniportHandleInterrupt returned.
    expect(nic.writesTo(Reg.IMC).some((w) => w.irql !== undefined && w.irql > Irql.DISPATCH_LEVEL)).toBe(true);
    expect(nic.mask).toBe(DEFAULT_INTERRUPT_MASK);
  });

  it('on a shared line, an interrupt of another device: MiniportISR does not recognise it and MiniportHandleInterrupt does not run', async () => {
    let otherCalls = 0;
    let otherPending = false;
    let lineOf: FakeLines | undefined;
    stack = await bringUpNdis5({
      beforeInitialize: (_kernel: Kernel, lines: FakeLines) => {
        lineOf = lines;
      },
    });
    const { kernel, miniport } = stack;
    // The other device connects after the miniport: MiniportISR is asked first.
    kernel.connectInterrupt({
      line: LINE,
      shareVector: true,
      name: 'OtherDeviceIsr',
      isr: () => {
        otherCalls++;
        if (!otherPending) return false;
        otherPending = false;
        lineOf!.set(LINE, false);
        return true;
      },
    });
    const before = { ...miniport.counters };
    otherPending = true;
    lineOf!.set(LINE, true);
    await kernel.quiesce();
    expect(miniport.counters.isrCalls).toBe(before.isrCalls + 1);
    expect(miniport.counters.isrRecognized).toBe(before.isrRecognized);
    expect(miniport.counters.handleInterruptCalls).toBe(before.handleInterruptCalls);
    expect(otherCalls).toBeGreaterThan(0);
    expect(otherPending).toBe(false);
  });

  it("'disable' mode: NDIS' ISR calls MiniportDisableInterrupt, MiniportHandleInterrupt reads ICR, traffic flows both ways", async () => {
    stack = await bringUpNdis5({ interruptMode: 'disable' });
    const { adapter, nic, miniport, kernel, rxRing } = stack;
    expect(adapter.interrupt).toMatchObject({ requestIsr: false, sharedInterrupt: false, usesIsr: false });
    const rx = Array.from({ length: 100 }, (_, i) => testFrame(i, 60 + ((i * 29) % 1400), 3));
    for (const f of rx) nic.inject(f);
    await kernel.quiesce();
    expect(drainRx(rxRing)).toEqual(rx.map(padded));
    const tx = Array.from({ length: 200 }, (_, i) => testFrame(i, 60 + ((i * 31) % 1450), 4));
    await sendThroughRing(stack, tx);
    expect(nic.sent.every((f, i) => f.equals(tx[i]!))).toBe(true);
    expect(miniport.counters.isrCalls).toBe(0);
    expect(miniport.counters.disableInterruptCalls).toBeGreaterThan(0);
    expect(miniport.counters.handleInterruptCalls).toBeGreaterThan(0);
    // MiniportEnableInterrupt ran after MiniportHandleInterrupt, synchronized with the ISR (at DIRQL).
    expect(miniport.counters.enableInterruptCalls).toBe(miniport.counters.handleInterruptCalls);
    expect(nic.writesTo(Reg.IMC).some((w) => w.irql !== undefined && w.irql > Irql.DISPATCH_LEVEL)).toBe(true);
    await kernel.quiesce();
    expect(nic.mask).toBe(DEFAULT_INTERRUPT_MASK);
  });

  it('packets a protocol keeps hold descriptors; near the low-water mark they go up with NDIS_STATUS_RESOURCES and come back at once', async () => {
    const holding = new HoldingBinding();
    stack = await bringUpNdis5({ binding: holding, rxRingSize: 64, receiveBatch: 8, receiveLowWater: 16 });
    holding.ndis = stack.ndis;
    const { nic, kernel, miniport } = stack;
    const frames = Array.from({ length: 120 }, (_, i) => testFrame(i, 100, 5));
    for (const f of frames) nic.inject(f);
    await kernel.quiesce();
    // The protocol kept packets until fewer than 16 descriptors were left; after that every packet was lent.
    expect(holding.kept.length).toBeGreaterThan(0);
    expect(holding.kept.length).toBeLessThanOrEqual(64 - 16 + 8);
    expect(holding.lentSeen).toBeGreaterThan(0);
    expect(miniport.counters.receivesLent).toBe(holding.lentSeen);
    // Giving the kept packets back lets the NIC refill and deliver the frames it held back.
    await holding.returnAll(stack.adapter);
    await kernel.quiesce();
    holding.returnNow = true;
    await holding.returnAll(stack.adapter);
    await kernel.quiesce();
    expect(holding.frames.map((f) => f.readUInt32BE(14))).toEqual(frames.map((_, i) => i));
    expect(stack.adapter.packetsOutstanding).toBe(0);
  });

  it('a send packet of a bad length completes at once with NDIS_STATUS_INVALID_PACKET; the others are sent', async () => {
    stack = await bringUpNdis5();
    const { ndis, adapter, nic, kernel, miniport } = stack;
    const pool = ndis.allocatePacketPool(2, { tag: 'test' });
    const good = ndis.allocatePacket(pool, testFrame(1, 100))!;
    const bad = ndis.allocatePacket(pool, new Uint8Array(10))!;
    const completions: [number, number][] = [];
    const binding = adapter.binding!;
    const original = binding.sendComplete.bind(binding);
    binding.sendComplete = (p: NdisPacket, status: number) => completions.push([p.id, status]);
    await ndis.sendPackets(adapter, [bad, good]);
    await kernel.quiesce();
    binding.sendComplete = original;
    expect(completions).toEqual([
      [bad.id, NdisStatus.INVALID_PACKET],
      [good.id, NdisStatus.SUCCESS],
    ]);
    expect(nic.sent).toHaveLength(1);
    expect(miniport.counters.sendsInvalid).toBe(1);
  });

  it('query and set information: packet filter and multicast list reach RCTL/MTA; link, addresses and counters are answered', async () => {
    stack = await bringUpNdis5();
    const { ndis, adapter, nic, kernel } = stack;
    await ndis.setInformation(adapter, Oid.GEN_CURRENT_PACKET_FILTER, NdisPacketType.DIRECTED | NdisPacketType.BROADCAST | NdisPacketType.PROMISCUOUS);
    expect(nic.get(Reg.RCTL) & (Rctl.UPE | Rctl.BAM)).toBe(Rctl.UPE | Rctl.BAM);
    await ndis.setInformation(adapter, Oid['802_3_MULTICAST_LIST'], Uint8Array.from([1, 0, 0x5e, 0, 0, 0xfb]));
    expect(Array.from(await ndis.queryInformation<Uint8Array>(adapter, Oid['802_3_MULTICAST_LIST']))).toEqual([1, 0, 0x5e, 0, 0, 0xfb]);
    expect(await ndis.queryInformation(adapter, Oid.GEN_CURRENT_PACKET_FILTER)).toBe(
      NdisPacketType.DIRECTED | NdisPacketType.BROADCAST | NdisPacketType.PROMISCUOUS | NdisPacketType.MULTICAST,
    );
    expect(await ndis.queryInformation(adapter, Oid.GEN_MEDIA_CONNECT_STATUS)).toBe(0);
    expect(await ndis.queryInformation(adapter, Oid.GEN_LINK_SPEED)).toBe(10_000_000);
    expect(Array.from(await ndis.queryInformation<Uint8Array>(adapter, Oid['802_3_CURRENT_ADDRESS']))).toEqual([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
    await sendThroughRing(stack, [testFrame(1, 64), testFrame(2, 64)]);
    nic.inject(testFrame(3, 100));
    await kernel.quiesce();
    expect(await ndis.queryInformation(adapter, Oid.GEN_XMIT_OK)).toBe(2);
    expect(await ndis.queryInformation(adapter, Oid.GEN_RCV_OK)).toBe(1);
    await expect(ndis.setInformation(adapter, Oid.GEN_CURRENT_PACKET_FILTER, 0x10000)).rejects.toMatchObject({ status: NdisStatus.NOT_SUPPORTED });
    await expect(ndis.queryInformation(adapter, 0x0fffffff)).rejects.toMatchObject({ status: NdisStatus.INVALID_OID });
  });

  it('link changes become NDIS_STATUS_MEDIA_DISCONNECT / MEDIA_CONNECT (with the speed) the protocol records', async () => {
    stack = await bringUpNdis5();
    const { nic, kernel, edge, adapter } = stack;
    nic.setLink(false);
    await kernel.quiesce();
    expect(adapter.mediaConnected).toBe(false);
    nic.setLink(true);
    await kernel.quiesce();
    expect(adapter.mediaConnected).toBe(true);
    expect(edge.linkEvents.map((e) => [e.up, e.speed])).toEqual([
      [false, 0],
      [true, 1_000_000_000],
    ]);
    expect(edge.linkUp).toBe(true);
  });

  it('a receive re-check asked outside MiniportHandleInterrupt runs the deferred body from the NDIS timer, once', async () => {
    stack = await bringUpNdis5();
    const { kernel, miniport } = stack;
    const first = await kernel.runAtPassive('ReturnPath', async () => miniport.queueDpc());
    const second = await kernel.runAtPassive('ReturnPath', async () => miniport.queueDpc());
    await waitUntil('the timer to run the deferred body', () => miniport.counters.timerRuns === 1);
    await kernel.quiesce();
    expect([first, second]).toEqual([true, false]);
    expect(miniport.counters.timerRuns).toBe(1);
  });

  it('halt: every send completed, the interrupt deregistered, DMA and pools freed; no ISR or MiniportHandleInterrupt afterwards', async () => {
    stack = await bringUpNdis5();
    const { ndis, adapter, nic, dma, edge, kernel, miniport } = stack;
    for (let i = 0; i < 20; i++) nic.inject(testFrame(i, 80));
    await kernel.quiesce();
    await edge.stop();
    await ndis.haltMiniport(adapter);
    expect(adapter.halted).toBe(true);
    expect(kernel.connectedInterrupts).toHaveLength(0);
    expect(dma.live.size).toBe(0);
    expect(nic.mask).toBe(0);
    expect(nic.get(Reg.RCTL) & Rctl.EN).toBe(0);
    const calls = miniport.routineCalls;
    const marker = connectMarkerIsr(kernel, LINE, () => nic.write32(Reg.IMC, 0xffffffff));
    nic.write32(Reg.IMS, 0xffffffff);
    nic.raise(Icr.RXT0 | Icr.LSC);
    await kernel.quiesce();
    expect(marker.calls).toBe(1);
    expect(miniport.routineCalls).toEqual(calls);
    expect(kernel.stopped).toBeNull();
    await edge.close();
  });

  it('with frames beyond its receive budget, MiniportHandleInterrupt takes another pass itself (NDIS 5 cannot requeue it), then re-enables the NIC', async () => {
    stack = await bringUpNdis5({ receiveBudget: 16, receiveBatch: 8 });
    const { nic, kernel, miniport, rxRing } = stack;
    const frames = Array.from({ length: 60 }, (_, i) => testFrame(i, 70, 6));
    for (const f of frames) nic.inject(f);
    await kernel.quiesce();
    expect(drainRx(rxRing)).toEqual(frames.map(padded));
    expect(miniport.counters.deferredRepeats).toBeGreaterThan(0);
    expect(miniport.counters.timerRuns).toBe(0);
    expect(miniport.core.snapshot().dpcRequeued).toBe(miniport.counters.deferredRepeats);
    expect(nic.mask).toBe(DEFAULT_INTERRUPT_MASK);
  });

  it.each([1, 2, 3, 4])('on two processors (seed %i), sends and receives interleave with nothing lost, reordered or corrupted', async (seed) => {
    stack = await bringUpNdis5({ processors: 2, seed });
    await expectInterleavedExchangeIntact(stack);
  });
});

/**
 * A protocol that keeps the packets it may keep (status SUCCESS) until told, and copies lent ones
 * (NDIS_STATUS_RESOURCES) at once, as ProtocolReceivePacket must.
 */
class HoldingBinding implements ProtocolBinding5 {
  ndis: Ndis5 | undefined;
  readonly frames: Buffer[] = [];
  readonly kept: NdisPacket[] = [];
  lentSeen = 0;
  returnNow = false;

  async receivePackets(packets: readonly NdisPacket[], count: number, adapter: Ndis5Adapter): Promise<void> {
    for (let i = 0; i < count; i++) {
      const p = packets[i]!;
      this.frames.push(Buffer.from(p.bytes()));
      if (p.status === NdisStatus.RESOURCES) this.lentSeen++;
      else if (this.returnNow) await this.ndis!.returnPacket(adapter, p);
      else this.kept.push(p);
    }
  }

  async returnAll(adapter: Ndis5Adapter): Promise<void> {
    for (const p of this.kept.splice(0)) await this.ndis!.returnPacket(adapter, p);
  }

  sendComplete(): void {}
  status(): void {}
  statusComplete(): void {}
}
