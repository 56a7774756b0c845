/**
 * Adaptive interrupt moderation in the e1000 core: while interrupts bring only transmit
 * completions ITR goes to BULK_TX_ITR; an interrupt with a receive (or link) cause brings the
 * configured ITR back. A configured throttle turns it off. ITR is written inside synchronize.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BULK_TX_ITR } from '../../../src/drivers/e1000/miniport/index.ts';
import { Icr, Reg } from '../../../src/drivers/e1000/registers.ts';
import { Irql } from '../../../src/kernel/index.ts';
import { makeRig, testFrame, type Rig } from './rig.ts';

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.cleanup();
  rig = undefined;
});

async function send(r: Rig, count: number): Promise<void> {
  const frames = Array.from({ length: count }, (_, i) => testFrame(i, 100, 1));
  await r.atDispatch(() =>
    r.adapter.send((add) => {
      for (const f of frames) add(f, 0, f.length);
    }),
  );
  await r.kernel.quiesce();
}

describe('e1000 core: adaptive interrupt moderation', () => {
  it('a transmit-only interrupt raises ITR for the send stream; a receive interrupt brings it back to 0', async () => {
    rig = makeRig();
    await rig.bringUp();
    const r = rig;
    await send(r, 4);
    expect(r.nic.writesTo(Reg.ITR).at(-1)).toMatchObject({ value: BULK_TX_ITR });
    expect(r.nic.writesTo(Reg.ITR).at(-1)!.irql).toBeGreaterThan(Irql.DISPATCH_LEVEL);
    const itrWrites = r.nic.writesTo(Reg.ITR).length;
    await send(r, 4);
    expect(r.nic.writesTo(Reg.ITR)).toHaveLength(itrWrites); // unchanged mode: no write
    r.nic.inject(testFrame(9, 100, 2));
    await r.kernel.quiesce();
    expect(r.nic.writesTo(Reg.ITR).at(-1)).toMatchObject({ value: 0 });
    expect(r.adapter.interruptThrottle.itr).toBe(0);
  });

  it('a link change counts as latency-sensitive: ITR back to the configured value', async () => {
    rig = makeRig();
    await rig.bringUp();
    const r = rig;
    await send(r, 2);
    expect(r.nic.writesTo(Reg.ITR).at(-1)).toMatchObject({ value: BULK_TX_ITR });
    r.nic.raise(Icr.LSC);
    await r.kernel.quiesce();
    expect(r.nic.writesTo(Reg.ITR).at(-1)).toMatchObject({ value: 0 });
  });

  it('a throttle given at initialisation turns it off: ITR stays as configured', async () => {
    rig = makeRig({ throttle: { itr: 100 } });
    await rig.bringUp();
    const r = rig;
    await send(r, 4);
    r.nic.inject(testFrame(9, 100, 2));
    await r.kernel.quiesce();
    expect(
      r.nic
        .writesTo(Reg.ITR)
        .map((w) => w.value)
        .filter((v) => v !== 0),
    ).toEqual([100]);
  });

  it('setInterruptThrottle stops it and puts the configured ITR back in the register', async () => {
    rig = makeRig();
    await rig.bringUp();
    const r = rig;
    await send(r, 4);
    expect(r.nic.get(Reg.ITR)).toBe(BULK_TX_ITR);
    await r.atPassive(() => r.adapter.setInterruptThrottle({ tadv: 8 }));
    expect(r.nic.get(Reg.ITR)).toBe(0);
    await send(r, 4);
    expect(r.nic.get(Reg.ITR)).toBe(0);
  });
});
