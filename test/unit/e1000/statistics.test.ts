import { describe, expect, it } from 'vitest';
import { Stat } from '../../../src/drivers/e1000/registers.ts';
import { COUNTERS, StatisticsAccumulator } from '../../../src/drivers/e1000/statistics.ts';
import { FakeRegisters } from './fakes.ts';

/** Statistics registers that behave like QEMU 7.2's: clear on read, pairs cleared by the high read, MPC/RNBC kept. */
function statisticsRegisters(): FakeRegisters {
  const regs = new FakeRegisters();
  for (const c of COUNTERS) {
    if (c.kind === 'clear32') {
      regs.onRead.set(c.offset, (v) => {
        regs.values.set(c.offset, 0);
        return v;
      });
    } else if (c.kind === 'clear64') {
      regs.onRead.set(c.offset + 4, (v) => {
        regs.values.set(c.offset, 0);
        regs.values.set(c.offset + 4, 0);
        return v;
      });
    }
  }
  return regs;
}

describe('StatisticsAccumulator', () => {
  it('adds up clear-on-read counters across reads', async () => {
    const regs = statisticsRegisters();
    const acc = new StatisticsAccumulator(regs);
    regs.values.set(Stat.GPRC, 5);
    regs.values.set(Stat.GPTC, 7);
    expect(await acc.read()).toMatchObject({ goodPacketsReceived: 5, goodPacketsTransmitted: 7 });
    regs.values.set(Stat.GPRC, 3);
    expect(await acc.read()).toMatchObject({ goodPacketsReceived: 8, goodPacketsTransmitted: 7 });
  });

  it('keeps totals beyond 32 bits', async () => {
    const regs = statisticsRegisters();
    const acc = new StatisticsAccumulator(regs);
    for (let i = 0; i < 3; i++) {
      regs.values.set(Stat.TPR, 0xffff_ffff);
      await acc.read();
    }
    expect((await acc.read()).totalPacketsReceived).toBe(3 * 0xffff_ffff);
  });

  it('reads each 64-bit pair low half first, so the high read clearing both loses nothing', async () => {
    const regs = statisticsRegisters();
    const acc = new StatisticsAccumulator(regs);
    regs.values.set(Stat.GORCL, 0xffff_fff0);
    regs.values.set(Stat.GORCH, 1);
    regs.values.set(Stat.TORL, 1000);
    expect(await acc.read()).toMatchObject({ goodOctetsReceived: 0x1_ffff_fff0, totalOctetsReceived: 1000 });
    regs.values.set(Stat.GORCL, 0x20);
    expect((await acc.read()).goodOctetsReceived).toBe(0x2_0000_0010);
    for (const [lo, hi] of [
      [Stat.GORCL, Stat.GORCH],
      [Stat.GOTCL, Stat.GOTCH],
      [Stat.TORL, Stat.TORH],
      [Stat.TOTL, Stat.TOTH],
    ] as const) {
      expect(regs.reads.indexOf(lo)).toBeLessThan(regs.reads.indexOf(hi));
    }
  });

  it('takes running counters (MPC, RNBC) relative to the value at reset, without adding them up', async () => {
    const regs = statisticsRegisters();
    regs.values.set(Stat.MPC, 10);
    regs.values.set(Stat.RNBC, 4);
    const acc = new StatisticsAccumulator(regs);
    await acc.reset();
    expect(await acc.read()).toMatchObject({ missedPackets: 0, receiveNoBuffers: 0 });
    regs.values.set(Stat.MPC, 15);
    expect((await acc.read()).missedPackets).toBe(5);
    expect((await acc.read()).missedPackets).toBe(5);
  });

  it('reset clears the hardware counters and restarts the totals from zero', async () => {
    const regs = statisticsRegisters();
    const acc = new StatisticsAccumulator(regs);
    regs.values.set(Stat.GPTC, 9);
    await acc.read();
    regs.values.set(Stat.GPTC, 4);
    await acc.reset();
    const s = await acc.read();
    expect(Object.values(s).every((v) => v === 0)).toBe(true);
  });

  it('returns a copy the caller cannot use to corrupt the totals', async () => {
    const regs = statisticsRegisters();
    const acc = new StatisticsAccumulator(regs);
    regs.values.set(Stat.BPRC, 2);
    const s = await acc.read();
    s.broadcastPacketsReceived = 1000;
    expect((await acc.read()).broadcastPacketsReceived).toBe(2);
  });
});
