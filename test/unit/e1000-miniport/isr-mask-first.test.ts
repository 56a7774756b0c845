/**
 * The core's ISR masks the NIC (IMC) before it reads ICR: the posted IMC leaves with the read, and
 * once the read returns the line is low with nothing in flight, so no fence is needed to decide
 * that the interrupt is done. A not-ours call (a neighbour on a shared line) puts the mask back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_INTERRUPT_MASK } from '../../../src/drivers/e1000/nic.ts';
import { Icr, Reg } from '../../../src/drivers/e1000/registers.ts';
import { makeRig, type Rig } from './rig.ts';

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.cleanup();
  rig = undefined;
});

/** Register accesses of the ISR, in order: 'W IMC', 'R ICR', 'W IMS'. */
function recordAccesses(r: Rig): string[] {
  const seen: string[] = [];
  const names = new Map<number, string>([
    [Reg.IMC, 'IMC'],
    [Reg.IMS, 'IMS'],
    [Reg.ICR, 'ICR'],
  ]);
  const read = r.nic.read32.bind(r.nic);
  const write = r.nic.write32.bind(r.nic);
  r.nic.read32 = (offset: number) => {
    if (names.has(offset)) seen.push(`R ${names.get(offset)}`);
    return read(offset);
  };
  r.nic.write32 = (offset: number, value: number) => {
    if (names.has(offset)) seen.push(`W ${names.get(offset)}`);
    write(offset, value);
  };
  return seen;
}

describe('e1000 core ISR: mask first, then read the causes', () => {
  it('masks with IMC before reading ICR; the line is low when the ISR returns and the DPC unmasks', async () => {
    rig = makeRig();
    await rig.bringUp();
    const r = rig;
    const seen = recordAccesses(r);
    r.nic.raise(Icr.TXDW);
    await r.kernel.quiesce();
    expect(seen.slice(0, 2)).toEqual(['W IMC', 'R ICR']);
    expect(seen.at(-1)).toBe('W IMS');
    expect(r.adapter.counters.isrRecognized).toBe(1);
    expect(r.nic.mask).toBe(DEFAULT_INTERRUPT_MASK >>> 0);
  });

  it('a cause raised while the ISR runs stays latched (no second ISR on the masked line) and is handled after the DPC unmasks', async () => {
    rig = makeRig();
    await rig.bringUp();
    const r = rig;
    const read = r.nic.read32.bind(r.nic);
    let once = true;
    r.nic.read32 = async (offset: number) => {
      const v = await read(offset);
      if (offset === Reg.ICR && once) {
        once = false;
        r.nic.raise(Icr.LSC); // arrives after the read, while the NIC is masked
      }
      return v;
    };
    r.nic.raise(Icr.TXDW);
    await r.kernel.quiesce();
    expect(r.adapter.counters.isrRecognized).toBe(2);
    expect(r.adapter.counters.dpcCalls).toBe(2);
    expect(r.nic.causes).toBe(0);
  });

  it('not ours (nothing pending): the mask is put back as it was', async () => {
    rig = makeRig();
    await rig.bringUp();
    const r = rig;
    const seen = recordAccesses(r);
    const recognized = await r.kernel.runAtPassive('SharedLineProbe', () => r.kernel.synchronizeExecution(r.edge.interrupt!, async () => (await r.adapter.isr()).recognized));
    expect(recognized).toBe(false);
    expect(seen).toEqual(['W IMC', 'R ICR', 'W IMS']);
    expect(r.nic.mask).toBe(DEFAULT_INTERRUPT_MASK >>> 0);
  });

  it('not ours while the DPC is pending: the NIC stays masked for the DPC to unmask', async () => {
    rig = makeRig();
    await rig.bringUp();
    const r = rig;
    await r.atDispatch(async () => {
      r.nic.raise(Icr.TXDW);
      // A register access is a preemption point: the ISR runs nested; the DPC waits (DISPATCH).
      await r.adapter.hardware.readLinkState();
      expect(r.adapter.counters.isrRecognized).toBe(1);
      const recognized = await r.kernel.synchronizeExecution(r.edge.interrupt!, async () => (await r.adapter.isr()).recognized);
      expect(recognized).toBe(false);
      expect(r.nic.mask).toBe(0);
    });
    await r.kernel.quiesce();
    expect(r.nic.mask).toBe(DEFAULT_INTERRUPT_MASK >>> 0);
  });
});
