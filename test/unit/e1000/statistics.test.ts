import { describe, expect, it } from 'vitest';
import { Stat } from '../../../src/drivers/e1000/registers.ts';
import { COUNTERS, StatisticsAccumulator, type CounterKind, type StatisticName } from '../../../src/drivers/e1000/statistics.ts';
import { FakeRegisters } from './fakes.ts';

/**
 * What a read does to a statistics register in QEMU 7.2's e1000 (hw/net/e1000.c, macreg_readops):
 * 'kept' (mac_readreg, the value since reset), 'clr' (mac_read_clr4: cleared by the read), 'lo'/'hi'
 * of a 64-bit pair whose high read (mac_read_clr8) returns it and clears both halves. The SDM says
 * every statistic clears on read; QEMU keeps the ones marked 'kept'.
 */
type OnRead = 'kept' | 'clr' | 'lo' | 'hi';

/**
 * The statistics block, written out from the Intel 8254x Family Software Developer's Manual, 13.7
 * "Statistics Registers" (offsets checked against QEMU's hw/net/e1000_regs.h), not from the
 * production table under test.
 */
const SDM = {
  CRCERRS: { offset: 0x4000, read: 'kept' },
  ALGNERRC: { offset: 0x4004, read: 'kept' },
  SYMERRS: { offset: 0x4008, read: 'kept' },
  RXERRC: { offset: 0x400c, read: 'kept' },
  MPC: { offset: 0x4010, read: 'kept' },
  SCC: { offset: 0x4014, read: 'kept' },
  ECOL: { offset: 0x4018, read: 'kept' },
  MCC: { offset: 0x401c, read: 'kept' },
  LATECOL: { offset: 0x4020, read: 'kept' },
  COLC: { offset: 0x4028, read: 'kept' },
  DC: { offset: 0x4030, read: 'kept' },
  TNCRS: { offset: 0x4034, read: 'kept' },
  SEC: { offset: 0x4038, read: 'kept' },
  CEXTERR: { offset: 0x403c, read: 'kept' },
  RLEC: { offset: 0x4040, read: 'kept' },
  XONRXC: { offset: 0x4048, read: 'kept' },
  XONTXC: { offset: 0x404c, read: 'kept' },
  XOFFRXC: { offset: 0x4050, read: 'kept' },
  XOFFTXC: { offset: 0x4054, read: 'kept' },
  FCRUC: { offset: 0x4058, read: 'kept' },
  PRC64: { offset: 0x405c, read: 'clr' },
  PRC127: { offset: 0x4060, read: 'clr' },
  PRC255: { offset: 0x4064, read: 'clr' },
  PRC511: { offset: 0x4068, read: 'clr' },
  PRC1023: { offset: 0x406c, read: 'clr' },
  PRC1522: { offset: 0x4070, read: 'clr' },
  GPRC: { offset: 0x4074, read: 'clr' },
  BPRC: { offset: 0x4078, read: 'clr' },
  MPRC: { offset: 0x407c, read: 'clr' },
  GPTC: { offset: 0x4080, read: 'clr' },
  GORCL: { offset: 0x4088, read: 'lo' },
  GORCH: { offset: 0x408c, read: 'hi' },
  GOTCL: { offset: 0x4090, read: 'lo' },
  GOTCH: { offset: 0x4094, read: 'hi' },
  RNBC: { offset: 0x40a0, read: 'kept' },
  RUC: { offset: 0x40a4, read: 'clr' },
  RFC: { offset: 0x40a8, read: 'kept' },
  ROC: { offset: 0x40ac, read: 'clr' },
  RJC: { offset: 0x40b0, read: 'kept' },
  MGTPRC: { offset: 0x40b4, read: 'kept' },
  MGTPDC: { offset: 0x40b8, read: 'kept' },
  MGTPTC: { offset: 0x40bc, read: 'kept' },
  TORL: { offset: 0x40c0, read: 'lo' },
  TORH: { offset: 0x40c4, read: 'hi' },
  TOTL: { offset: 0x40c8, read: 'lo' },
  TOTH: { offset: 0x40cc, read: 'hi' },
  TPR: { offset: 0x40d0, read: 'clr' },
  TPT: { offset: 0x40d4, read: 'clr' },
  PTC64: { offset: 0x40d8, read: 'clr' },
  PTC127: { offset: 0x40dc, read: 'clr' },
  PTC255: { offset: 0x40e0, read: 'clr' },
  PTC511: { offset: 0x40e4, read: 'clr' },
  PTC1023: { offset: 0x40e8, read: 'clr' },
  PTC1522: { offset: 0x40ec, read: 'clr' },
  MPTC: { offset: 0x40f0, read: 'clr' },
  BPTC: { offset: 0x40f4, read: 'clr' },
  TSCTC: { offset: 0x40f8, read: 'clr' },
  TSCTFC: { offset: 0x40fc, read: 'kept' },
} as const satisfies Record<string, { offset: number; read: OnRead }>;

type SdmRegister = keyof typeof SDM;

/** Which register each statistic the driver reports comes from (the SDM's description of it). */
const SOURCE: Record<StatisticName, SdmRegister> = {
  crcErrors: 'CRCERRS',
  alignmentErrors: 'ALGNERRC',
  symbolErrors: 'SYMERRS',
  rxErrors: 'RXERRC',
  missedPackets: 'MPC',
  singleCollisions: 'SCC',
  excessiveCollisions: 'ECOL',
  multipleCollisions: 'MCC',
  lateCollisions: 'LATECOL',
  collisions: 'COLC',
  deferred: 'DC',
  receiveNoBuffers: 'RNBC',
  receiveUndersize: 'RUC',
  receiveFragments: 'RFC',
  receiveOversize: 'ROC',
  receiveJabber: 'RJC',
  goodPacketsReceived: 'GPRC',
  broadcastPacketsReceived: 'BPRC',
  multicastPacketsReceived: 'MPRC',
  goodOctetsReceived: 'GORCL',
  totalOctetsReceived: 'TORL',
  totalPacketsReceived: 'TPR',
  packetsReceived64: 'PRC64',
  packetsReceived65To127: 'PRC127',
  packetsReceived128To255: 'PRC255',
  packetsReceived256To511: 'PRC511',
  packetsReceived512To1023: 'PRC1023',
  packetsReceived1024To1522: 'PRC1522',
  goodPacketsTransmitted: 'GPTC',
  broadcastPacketsTransmitted: 'BPTC',
  multicastPacketsTransmitted: 'MPTC',
  goodOctetsTransmitted: 'GOTCL',
  totalOctetsTransmitted: 'TOTL',
  totalPacketsTransmitted: 'TPT',
  packetsTransmitted64: 'PTC64',
  packetsTransmitted65To127: 'PTC127',
  packetsTransmitted128To255: 'PTC255',
  packetsTransmitted256To511: 'PTC511',
  packetsTransmitted512To1023: 'PTC1023',
  packetsTransmitted1024To1522: 'PTC1522',
  tcpSegmentationContexts: 'TSCTC',
};

/** The statistics registers as QEMU 7.2 behaves, from the SDM table above. */
function statisticsRegisters(): FakeRegisters {
  const regs = new FakeRegisters();
  for (const { offset, read } of Object.values(SDM)) {
    if (read === 'clr') {
      regs.onRead.set(offset, (v) => {
        regs.values.set(offset, 0);
        return v;
      });
    } else if (read === 'hi') {
      regs.onRead.set(offset, (v) => {
        regs.values.set(offset - 4, 0);
        regs.values.set(offset, 0);
        return v;
      });
    }
  }
  return regs;
}

const R = (name: SdmRegister): number => SDM[name].offset;

describe('the statistics the driver reads, against the SDM', () => {
  it('names every statistics register at its SDM offset', () => {
    for (const [name, { offset }] of Object.entries(SDM)) expect([name, Stat[name as SdmRegister]]).toEqual([name, offset]);
  });

  it("reads each counter from its SDM register, with QEMU 7.2's read behaviour", () => {
    // A counter is read at its own register, or at the low half of its pair; never at a high half.
    const kindFor: Record<OnRead, CounterKind | 'none'> = { kept: 'running32', clr: 'clear32', lo: 'clear64', hi: 'none' };
    for (const c of COUNTERS) {
      const reg = SOURCE[c.name];
      expect({ name: c.name, offset: c.offset, kind: c.kind }).toEqual({ name: c.name, offset: SDM[reg].offset, kind: kindFor[SDM[reg].read] });
      if (c.kind === 'clear64') expect(Object.values(SDM).find((r) => r.offset === c.offset + 4)?.read).toBe('hi');
    }
    expect(new Set(COUNTERS.map((c) => c.name)).size).toBe(Object.keys(SOURCE).length);
  });
});

describe('StatisticsAccumulator', () => {
  it('adds up clear-on-read counters across reads', async () => {
    const regs = statisticsRegisters();
    const acc = new StatisticsAccumulator(regs);
    regs.values.set(R('GPRC'), 5);
    regs.values.set(R('GPTC'), 7);
    expect(await acc.read()).toMatchObject({ goodPacketsReceived: 5, goodPacketsTransmitted: 7 });
    regs.values.set(R('GPRC'), 3);
    expect(await acc.read()).toMatchObject({ goodPacketsReceived: 8, goodPacketsTransmitted: 7 });
  });

  it('keeps totals beyond 32 bits', async () => {
    const regs = statisticsRegisters();
    const acc = new StatisticsAccumulator(regs);
    for (let i = 0; i < 3; i++) {
      regs.values.set(R('TPR'), 0xffff_ffff);
      await acc.read();
    }
    expect((await acc.read()).totalPacketsReceived).toBe(3 * 0xffff_ffff);
  });

  it('reads each 64-bit pair low half first, so the high read clearing both loses nothing', async () => {
    const regs = statisticsRegisters();
    const acc = new StatisticsAccumulator(regs);
    regs.values.set(R('GORCL'), 0xffff_fff0);
    regs.values.set(R('GORCH'), 1);
    regs.values.set(R('TORL'), 1000);
    expect(await acc.read()).toMatchObject({ goodOctetsReceived: 0x1_ffff_fff0, totalOctetsReceived: 1000 });
    regs.values.set(R('GORCL'), 0x20);
    expect((await acc.read()).goodOctetsReceived).toBe(0x2_0000_0010);
    for (const [lo, hi] of [
      [R('GORCL'), R('GORCH')],
      [R('GOTCL'), R('GOTCH')],
      [R('TORL'), R('TORH')],
      [R('TOTL'), R('TOTH')],
    ] as const) {
      expect(regs.reads.indexOf(lo)).toBeLessThan(regs.reads.indexOf(hi));
    }
  });

  it('takes running counters (MPC, RNBC) relative to the value at reset, without adding them up', async () => {
    const regs = statisticsRegisters();
    regs.values.set(R('MPC'), 10);
    regs.values.set(R('RNBC'), 4);
    const acc = new StatisticsAccumulator(regs);
    await acc.reset();
    expect(await acc.read()).toMatchObject({ missedPackets: 0, receiveNoBuffers: 0 });
    regs.values.set(R('MPC'), 15);
    expect((await acc.read()).missedPackets).toBe(5);
    expect((await acc.read()).missedPackets).toBe(5);
  });

  it('reset clears the hardware counters and restarts the totals from zero', async () => {
    const regs = statisticsRegisters();
    const acc = new StatisticsAccumulator(regs);
    regs.values.set(R('GPTC'), 9);
    await acc.read();
    regs.values.set(R('GPTC'), 4);
    await acc.reset();
    const s = await acc.read();
    expect(Object.values(s).every((v) => v === 0)).toBe(true);
  });

  it('returns a copy the caller cannot use to corrupt the totals', async () => {
    const regs = statisticsRegisters();
    const acc = new StatisticsAccumulator(regs);
    regs.values.set(R('BPRC'), 2);
    const s = await acc.read();
    s.broadcastPacketsReceived = 1000;
    expect((await acc.read()).broadcastPacketsReceived).toBe(2);
  });
});
