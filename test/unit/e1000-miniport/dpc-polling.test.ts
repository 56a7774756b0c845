/**
 * The core's DPC looks at the RX ring again after each indication (NAPI-style): frames that arrive
 * while it indicates are taken in the same DPC, until a harvest finds nothing or receiveBudget
 * frames went up; then interrupts bring the rest.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { makeRig, testFrame, type Rig } from './rig.ts';

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.cleanup();
  rig = undefined;
});

/** A sender that paces on what was indicated: each indication makes it send `perIndication` more frames. */
function pacedSender(r: Rig, total: number, perIndication: number): { sent: () => number } {
  let sent = 0;
  const indicate = r.edge.indicateReceive.bind(r.edge);
  r.edge.indicateReceive = async (batch) => {
    await indicate(batch);
    for (let i = 0; i < perIndication && sent < total; i++) r.nic.inject(testFrame(sent++, 100, 7));
  };
  r.nic.inject(testFrame(sent++, 100, 7)); // the first frame starts it all
  return { sent: () => sent };
}

describe('e1000 core DPC: polls the RX ring while frames keep arriving', () => {
  it('frames that arrive while the DPC indicates are taken by the same DPC, without another interrupt', async () => {
    rig = makeRig({ receiveBatch: 8, receiveBudget: 1024 });
    await rig.bringUp();
    const r = rig;
    const indicatedIn: number[] = [];
    const indicate = r.edge.indicateReceive.bind(r.edge);
    r.edge.indicateReceive = async (batch) => {
      indicatedIn.push(r.adapter.counters.dpcCalls);
      await indicate(batch);
    };
    const sender = pacedSender(r, 100, 4);
    await r.kernel.quiesce();
    expect(sender.sent()).toBe(100);
    expect(r.edge.received).toHaveLength(100);
    expect(r.edge.received.map((f) => f.readUInt32BE(14))).toEqual(Array.from({ length: 100 }, (_, i) => i));
    // Every frame went up in the first DPC. The causes latched meanwhile raise one more
    // interrupt once it unmasks, whose DPC finds the ring empty.
    expect(new Set(indicatedIn)).toEqual(new Set([1]));
    expect(r.adapter.counters.dpcCalls).toBeLessThanOrEqual(2);
    expect(r.adapter.counters.dpcRequeued).toBe(0);
  });

  it('after receiveBudget frames with the ring caught up, it stops polling and re-enables interrupts (no requeue)', async () => {
    rig = makeRig({ receiveBatch: 8, receiveBudget: 16 });
    await rig.bringUp();
    const r = rig;
    pacedSender(r, 100, 4);
    await r.kernel.quiesce();
    expect(r.edge.received).toHaveLength(100);
    expect(r.adapter.counters.dpcRequeued).toBe(0);
    // 100 frames, at most 16 + one short harvest per DPC: several interrupt cycles.
    expect(r.adapter.counters.dpcCalls).toBeGreaterThanOrEqual(5);
    expect(r.adapter.counters.isrRecognized).toBe(r.adapter.counters.dpcCalls);
  });

  it('an empty harvest ends the DPC at once: one pass for a single frame', async () => {
    rig = makeRig({ receiveBatch: 8 });
    await rig.bringUp();
    const r = rig;
    r.nic.inject(testFrame(1, 100, 7));
    await r.kernel.quiesce();
    expect(r.edge.received).toHaveLength(1);
    expect(r.edge.batches).toEqual([1]);
    expect(r.adapter.counters.dpcCalls).toBe(1);
  });
});
