/**
 * The NDIS 6 e1000 miniport and the NDIS 6 upper edge allocate their NBLs once and reuse them
 * (as Windows drivers preallocate receive NBLs per descriptor and protocols keep send NBLs):
 * steady traffic makes no NdisAllocate/NdisFree calls, and halt still frees every pool.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { registerE1000Ndis6, type E1000Ndis6Adapter } from '../../../src/drivers/e1000/ndis6/index.ts';
import { registerName } from '../../../src/drivers/e1000/registers.ts';
import { Ndis6, type NetBufferList } from '../../../src/ndis/ndis6/index.ts';
import { PacketRing } from '../../../src/ring/index.ts';
import { Ndis6ProtocolEdge } from '../../../src/upper-edge/index.ts';
import { LINE } from './fake-nic.ts';
import { drainRx, fakeE1000Machine, sendThroughRing } from './fake-machine.ts';
import { padded, testFrame } from './rig.ts';

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

async function bringUp() {
  const machine = fakeE1000Machine('dirql-ndis6-reuse-');
  const { kernel, memory, dma, nic } = machine;
  const ndis = new Ndis6(kernel);
  const driver = registerE1000Ndis6(ndis, { txRingSize: 64, rxRingSize: 64, receiveBatch: 16 });
  const rxRing = new PacketRing({ slotCount: 256 });
  const txRing = new PacketRing({ slotCount: 256 });
  const edge = new Ndis6ProtocolEdge(ndis, { rxRing, txRing, sendPoolSize: 32, sendBatch: 16 });
  const adapter = await ndis.initializeMiniport(driver, { registers: nic, registerName, interrupt: { line: LINE }, memory, dma, name: 'e1000' }, { binding: edge });
  edge.bind(adapter);
  let allocations = 0;
  let frees = 0;
  const allocate = ndis.allocateNetBufferAndNetBufferList.bind(ndis);
  const free = ndis.freeNetBufferList.bind(ndis);
  ndis.allocateNetBufferAndNetBufferList = (...args) => {
    allocations++;
    return allocate(...args);
  };
  ndis.freeNetBufferList = (nbl) => {
    frees++;
    free(nbl);
  };
  cleanup = async () => {
    await edge.stop();
    await machine.cleanup();
  };
  return { kernel, nic, ndis, adapter, edge, rxRing, txRing, miniport: adapter.context as E1000Ndis6Adapter, counts: () => ({ allocations, frees }) };
}

describe('NDIS 6 e1000: NBLs allocated once, reused for every frame', () => {
  it('received frames reuse the receive NBLs: no allocation per frame, each NBL indicated many times', async () => {
    const s = await bringUp();
    const seen = new Map<number, number>();
    const receive = s.edge.receiveNetBufferLists.bind(s.edge);
    s.edge.receiveNetBufferLists = (chain: NetBufferList, ...rest) => {
      for (let n: NetBufferList | null = chain; n; n = n.next) seen.set(n.id, (seen.get(n.id) ?? 0) + 1);
      return receive(chain, ...rest);
    };
    const frames = Array.from({ length: 500 }, (_, i) => testFrame(i, 60 + (i % 200), 3));
    const got: Buffer[] = [];
    for (let i = 0; i < frames.length; i += 50) {
      for (const f of frames.slice(i, i + 50)) s.nic.inject(f);
      await s.kernel.quiesce();
      got.push(...drainRx(s.rxRing));
    }
    expect(got).toEqual(frames.map(padded));
    expect(s.counts()).toEqual({ allocations: 0, frees: 0 });
    expect(seen.size).toBeLessThanOrEqual(64);
    expect([...seen.values()].reduce((a, b) => a + b, 0)).toBe(500);
    expect(s.adapter.receivesOutstanding).toBe(0);
    expect(s.miniport.counters.receivesNoNbl).toBe(0);
  });

  it('sends reuse the upper edge send NBLs: no allocation per frame, all of them back after the sends complete', async () => {
    const s = await bringUp();
    const sent = new Set<number>();
    const send = s.ndis.sendNetBufferLists.bind(s.ndis);
    s.ndis.sendNetBufferLists = (adapter, chain, ...rest) => {
      for (let n: NetBufferList | null = chain; n; n = n.next) sent.add(n.id);
      return send(adapter, chain, ...rest);
    };
    const frames = Array.from({ length: 300 }, (_, i) => testFrame(i, 60 + (i % 300), 4));
    await sendThroughRing(s, frames);
    expect(s.nic.sent.map((f, i) => f.equals(frames[i]!)).every(Boolean)).toBe(true);
    expect(s.counts()).toEqual({ allocations: 0, frees: 0 });
    expect(sent.size).toBeLessThanOrEqual(32);
    expect(s.edge.counters.tx).toMatchObject({ handedOut: 300, completed: 300, released: 300 });
  });

  it('halt and close give every NBL back: the pools are freed (NDIS checks the receive pool at halt)', async () => {
    const s = await bringUp();
    await sendThroughRing(s, [testFrame(1, 100, 5)]);
    s.nic.inject(testFrame(2, 100, 5));
    await s.kernel.quiesce();
    await s.edge.stop();
    await s.ndis.haltMiniport(s.adapter);
    await s.edge.close();
    expect(s.adapter.halted).toBe(true);
    expect(s.kernel.stopped).toBeNull();
    expect(s.counts().frees).toBe(64 + 32);
  });
});
