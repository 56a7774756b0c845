/**
 * The NDIS 6 e1000 miniport and the NDIS 6 upper edge on the NDIS 6 facade and the kernel model,
 * with the fake 82540EM underneath: the same composition as the host, without QEMU.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { registerE1000Ndis6, type E1000Ndis6Adapter } from '../../../src/drivers/e1000/ndis6/index.ts';
import { Rctl, Reg, registerName } from '../../../src/drivers/e1000/registers.ts';
import type { Kernel } from '../../../src/kernel/index.ts';
import { MediaConnectState, Ndis6, NdisPacketType, NdisStatus, Oid, type MiniportAdapter, type NdisStatisticsInfo, type NetBufferList } from '../../../src/ndis/ndis6/index.ts';
import { PacketRing } from '../../../src/ring/index.ts';
import { Ndis6ProtocolEdge } from '../../../src/upper-edge/index.ts';
import { LINE, type BumpDma, type FakeE1000 } from './fake-nic.ts';
import { drainRx, fakeE1000Machine } from './fake-machine.ts';
import { waitUntil } from '../../support/wait.ts';
import { padded, testFrame } from './rig.ts';

interface Stack {
  kernel: Kernel;
  nic: FakeE1000;
  ndis: Ndis6;
  adapter: MiniportAdapter;
  miniport: E1000Ndis6Adapter;
  edge: Ndis6ProtocolEdge;
  rxRing: PacketRing;
  txRing: PacketRing;
  dma: BumpDma;
  cleanup(): Promise<void>;
}

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.cleanup();
  stack = undefined;
});

async function bringUp(): Promise<Stack> {
  const machine = fakeE1000Machine('dirql-ndis6-e1000-');
  const { kernel, memory, dma, nic } = machine;
  const ndis = new Ndis6(kernel);
  const driver = registerE1000Ndis6(ndis, { txRingSize: 64, rxRingSize: 64, receiveBatch: 16 });
  const rxRing = new PacketRing({ slotCount: 256 });
  const txRing = new PacketRing({ slotCount: 256 });
  const edge = new Ndis6ProtocolEdge(ndis, { rxRing, txRing, sendPoolSize: 128, sendBatch: 32 });
  const adapter = await ndis.initializeMiniport(
    driver,
    {
      registers: nic,
      registerName,
      interrupt: { line: LINE },
      memory,
      dma,
      name: 'e1000',
    },
    { binding: edge },
  );
  edge.bind(adapter);
  const s: Stack = {
    kernel,
    nic,
    ndis,
    adapter,
    miniport: adapter.context as E1000Ndis6Adapter,
    edge,
    rxRing,
    txRing,
    dma,
    async cleanup() {
      await edge.stop();
      await machine.cleanup();
    },
  };
  return s;
}

describe('NDIS 6 e1000 miniport with the NDIS 6 upper edge (fake NIC)', () => {
  it('initializes Paused with its attributes, then restarts to Running with interrupts unmasked', async () => {
    stack = await bringUp();
    const { adapter, nic, miniport } = stack;
    expect(adapter.state).toBe('running');
    expect(adapter.generalAttributes).toMatchObject({ mtuSize: 1500, mediaConnectState: MediaConnectState.Connected, maxMulticastListSize: 32 });
    expect(Array.from(adapter.generalAttributes!.currentMacAddress)).toEqual([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
    expect(miniport.core.state).toBe('running');
    expect(adapter.interrupt).not.toBeNull();
    expect(nic.mask).not.toBe(0);
    expect(stack.edge.linkUp).toBe(true);
  });

  it('frames written to the TX ring reach the NIC in order; NBLs and ring slots all come back', async () => {
    stack = await bringUp();
    const { nic, txRing, edge } = stack;
    const frames = Array.from({ length: 600 }, (_, i) => testFrame(i, 60 + ((i * 37) % 1455)));
    const producer = txRing.producer();
    let next = 0;
    while (next < frames.length) {
      next += producer.enqueueBatch(frames.slice(next));
      edge.kick();
      await waitUntil('the NIC to send what was queued', () => nic.sent.length >= next);
    }
    await waitUntil('every TX slot released', () => txRing.stats().dequeued === frames.length);
    expect(nic.sent.map((f, i) => f.equals(frames[i]!)).every(Boolean)).toBe(true);
    expect(nic.sent).toHaveLength(600);
    expect(edge.counters.tx).toMatchObject({ handedOut: 600, completed: 600, failed: 0, released: 600 });
    expect(stack.adapter.statistics).toMatchObject({ sendsRequested: 600, sendsCompleted: 600, sendsFailed: 0 });
    expect(stack.adapter.sendsOutstanding).toBe(0);
  });

  it('received frames land in the RX ring in order and every receive NBL is returned', async () => {
    stack = await bringUp();
    const { nic, rxRing, adapter, kernel } = stack;
    const frames = Array.from({ length: 150 }, (_, i) => testFrame(i, 42 + ((i * 53) % 1470), 9));
    for (const f of frames) nic.inject(f);
    await kernel.quiesce();
    expect(drainRx(rxRing)).toEqual(frames.map(padded));
    expect(adapter.statistics).toMatchObject({ receivesIndicated: 150, receivesReturned: 150 });
    expect(adapter.receivesOutstanding).toBe(0);
  });

  it('an NBL with a frame of a bad length completes at once with NDIS_STATUS_INVALID_LENGTH', async () => {
    stack = await bringUp();
    const { ndis, adapter, nic } = stack;
    const pool = ndis.allocateNetBufferListPool(2, { tag: 'test' });
    const good = ndis.allocateNetBufferAndNetBufferList(pool, testFrame(1, 100))!;
    const bad = ndis.allocateNetBufferAndNetBufferList(pool, new Uint8Array(10))!;
    good.next = bad;
    const completed: NetBufferList[] = [];
    const binding = adapter.binding!;
    const original = binding.sendNetBufferListsComplete.bind(binding);
    binding.sendNetBufferListsComplete = (chain: NetBufferList) => {
      for (let n: NetBufferList | null = chain; n; n = n.next) completed.push(n);
    };
    await ndis.sendNetBufferLists(adapter, good);
    await stack.kernel.quiesce();
    binding.sendNetBufferListsComplete = original;
    expect(completed.map((n) => [n.id, n.status])).toEqual(
      expect.arrayContaining([
        [bad.id, NdisStatus.INVALID_LENGTH],
        [good.id, NdisStatus.SUCCESS],
      ]),
    );
    expect(nic.sent).toHaveLength(1);
    expect(stack.miniport.counters.sendsInvalid).toBe(1);
  });

  it('OIDs: packet filter and multicast list reach RCTL/MTA, statistics and link state are answered', async () => {
    stack = await bringUp();
    const { ndis, adapter, nic } = stack;
    await ndis.setInformation(adapter, Oid.GEN_CURRENT_PACKET_FILTER, NdisPacketType.DIRECTED | NdisPacketType.BROADCAST | NdisPacketType.PROMISCUOUS);
    expect(nic.get(Reg.RCTL) & (Rctl.UPE | Rctl.BAM)).toBe(Rctl.UPE | Rctl.BAM);
    await ndis.setInformation(adapter, Oid['802_3_MULTICAST_LIST'], Uint8Array.from([1, 0, 0x5e, 0, 0, 0xfb]));
    expect(Array.from(await ndis.queryInformation<Uint8Array>(adapter, Oid['802_3_MULTICAST_LIST']))).toEqual([1, 0, 0x5e, 0, 0, 0xfb]);
    expect(await ndis.queryInformation(adapter, Oid.GEN_CURRENT_PACKET_FILTER)).toBe(
      NdisPacketType.DIRECTED | NdisPacketType.BROADCAST | NdisPacketType.PROMISCUOUS | NdisPacketType.MULTICAST,
    );
    nic.inject(testFrame(1, 100));
    await stack.kernel.quiesce();
    const info = await ndis.queryInformation<NdisStatisticsInfo>(adapter, Oid.GEN_STATISTICS);
    expect(info.ifHCInUcastPkts).toBe(1);
    expect(await ndis.queryInformation(adapter, Oid.GEN_LINK_STATE)).toMatchObject({ mediaConnectState: MediaConnectState.Connected, xmitLinkSpeed: 1e9 });
    const refused = await ndis.oidRequest(adapter, { requestType: 1, oid: Oid.GEN_CURRENT_PACKET_FILTER, informationBuffer: 0x10000 });
    expect(refused.status).toBe(NdisStatus.NOT_SUPPORTED);
    expect((await ndis.oidRequest(adapter, { requestType: 0, oid: 0x0fffffff })).status).toBe(NdisStatus.NOT_SUPPORTED);
  });

  it('a link change becomes an NDIS_STATUS_LINK_STATE the upper edge records', async () => {
    stack = await bringUp();
    stack.nic.setLink(false);
    await stack.kernel.quiesce();
    expect(stack.edge.linkEvents.map((e) => e.up)).toEqual([false]);
    expect(stack.edge.linkUp).toBe(false);
  });

  it('halt: pause completes with nothing outstanding, the interrupt is deregistered, every DMA region and pool freed', async () => {
    stack = await bringUp();
    const { ndis, adapter, nic, dma, edge, kernel } = stack;
    for (let i = 0; i < 20; i++) nic.inject(testFrame(i, 80));
    await kernel.quiesce();
    await edge.stop();
    await ndis.haltMiniport(adapter);
    expect(adapter.halted).toBe(true);
    expect(kernel.connectedInterrupts).toHaveLength(0);
    expect(dma.live.size).toBe(0);
    expect(nic.mask).toBe(0);
    expect(nic.get(Reg.RCTL) & Rctl.EN).toBe(0);
    expect(kernel.stopped).toBeNull();
    await edge.close();
  });
});
