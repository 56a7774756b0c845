import { Stat, type E1000Registers } from './registers.ts';

/**
 * How a counter behaves when read, as QEMU 7.2's e1000 implements it (hw/net/e1000.c) and as
 * measured here:
 * - `clear32`: 32-bit, cleared by the read (the SDM's behaviour for every statistic).
 * - `clear64`: a low/high pair; reading the high half returns it and clears both halves, so the
 *   low half must be read first.
 * - `running32`: never cleared by a read in QEMU (MPC, RNBC, and the error counters QEMU keeps in
 *   plain registers): the value read is the total since reset.
 */
export type CounterKind = 'clear32' | 'clear64' | 'running32';

export interface CounterSpec {
  readonly name: StatisticName;
  /** The low half for `clear64`. */
  readonly offset: number;
  readonly kind: CounterKind;
}

export type StatisticName =
  | 'crcErrors'
  | 'alignmentErrors'
  | 'symbolErrors'
  | 'rxErrors'
  | 'missedPackets'
  | 'singleCollisions'
  | 'excessiveCollisions'
  | 'multipleCollisions'
  | 'lateCollisions'
  | 'collisions'
  | 'deferred'
  | 'receiveNoBuffers'
  | 'receiveUndersize'
  | 'receiveFragments'
  | 'receiveOversize'
  | 'receiveJabber'
  | 'goodPacketsReceived'
  | 'broadcastPacketsReceived'
  | 'multicastPacketsReceived'
  | 'goodOctetsReceived'
  | 'totalOctetsReceived'
  | 'totalPacketsReceived'
  | 'packetsReceived64'
  | 'packetsReceived65To127'
  | 'packetsReceived128To255'
  | 'packetsReceived256To511'
  | 'packetsReceived512To1023'
  | 'packetsReceived1024To1522'
  | 'goodPacketsTransmitted'
  | 'broadcastPacketsTransmitted'
  | 'multicastPacketsTransmitted'
  | 'goodOctetsTransmitted'
  | 'totalOctetsTransmitted'
  | 'totalPacketsTransmitted'
  | 'packetsTransmitted64'
  | 'packetsTransmitted65To127'
  | 'packetsTransmitted128To255'
  | 'packetsTransmitted256To511'
  | 'packetsTransmitted512To1023'
  | 'packetsTransmitted1024To1522'
  | 'tcpSegmentationContexts';

/** Running totals since the last reset, one per counter. Exact below 2^53. */
export type E1000Statistics = Record<StatisticName, number>;

/**
 * The counters read, in the statistics block's order. Octet counts include the 4 CRC bytes
 * (on transmit as well, in QEMU 7.2).
 */
export const COUNTERS: readonly CounterSpec[] = [
  { name: 'crcErrors', offset: Stat.CRCERRS, kind: 'running32' },
  { name: 'alignmentErrors', offset: Stat.ALGNERRC, kind: 'running32' },
  { name: 'symbolErrors', offset: Stat.SYMERRS, kind: 'running32' },
  { name: 'rxErrors', offset: Stat.RXERRC, kind: 'running32' },
  { name: 'missedPackets', offset: Stat.MPC, kind: 'running32' },
  { name: 'singleCollisions', offset: Stat.SCC, kind: 'running32' },
  { name: 'excessiveCollisions', offset: Stat.ECOL, kind: 'running32' },
  { name: 'multipleCollisions', offset: Stat.MCC, kind: 'running32' },
  { name: 'lateCollisions', offset: Stat.LATECOL, kind: 'running32' },
  { name: 'collisions', offset: Stat.COLC, kind: 'running32' },
  { name: 'deferred', offset: Stat.DC, kind: 'running32' },
  { name: 'packetsReceived64', offset: Stat.PRC64, kind: 'clear32' },
  { name: 'packetsReceived65To127', offset: Stat.PRC127, kind: 'clear32' },
  { name: 'packetsReceived128To255', offset: Stat.PRC255, kind: 'clear32' },
  { name: 'packetsReceived256To511', offset: Stat.PRC511, kind: 'clear32' },
  { name: 'packetsReceived512To1023', offset: Stat.PRC1023, kind: 'clear32' },
  { name: 'packetsReceived1024To1522', offset: Stat.PRC1522, kind: 'clear32' },
  { name: 'goodPacketsReceived', offset: Stat.GPRC, kind: 'clear32' },
  { name: 'broadcastPacketsReceived', offset: Stat.BPRC, kind: 'clear32' },
  { name: 'multicastPacketsReceived', offset: Stat.MPRC, kind: 'clear32' },
  { name: 'goodPacketsTransmitted', offset: Stat.GPTC, kind: 'clear32' },
  { name: 'goodOctetsReceived', offset: Stat.GORCL, kind: 'clear64' },
  { name: 'goodOctetsTransmitted', offset: Stat.GOTCL, kind: 'clear64' },
  { name: 'receiveNoBuffers', offset: Stat.RNBC, kind: 'running32' },
  { name: 'receiveUndersize', offset: Stat.RUC, kind: 'clear32' },
  { name: 'receiveFragments', offset: Stat.RFC, kind: 'running32' },
  { name: 'receiveOversize', offset: Stat.ROC, kind: 'clear32' },
  { name: 'receiveJabber', offset: Stat.RJC, kind: 'running32' },
  { name: 'totalOctetsReceived', offset: Stat.TORL, kind: 'clear64' },
  { name: 'totalOctetsTransmitted', offset: Stat.TOTL, kind: 'clear64' },
  { name: 'totalPacketsReceived', offset: Stat.TPR, kind: 'clear32' },
  { name: 'totalPacketsTransmitted', offset: Stat.TPT, kind: 'clear32' },
  { name: 'packetsTransmitted64', offset: Stat.PTC64, kind: 'clear32' },
  { name: 'packetsTransmitted65To127', offset: Stat.PTC127, kind: 'clear32' },
  { name: 'packetsTransmitted128To255', offset: Stat.PTC255, kind: 'clear32' },
  { name: 'packetsTransmitted256To511', offset: Stat.PTC511, kind: 'clear32' },
  { name: 'packetsTransmitted512To1023', offset: Stat.PTC1023, kind: 'clear32' },
  { name: 'packetsTransmitted1024To1522', offset: Stat.PTC1522, kind: 'clear32' },
  { name: 'multicastPacketsTransmitted', offset: Stat.MPTC, kind: 'clear32' },
  { name: 'broadcastPacketsTransmitted', offset: Stat.BPTC, kind: 'clear32' },
  { name: 'tcpSegmentationContexts', offset: Stat.TSCTC, kind: 'clear32' },
];

function zeroStatistics(): E1000Statistics {
  const s = {} as E1000Statistics;
  for (const c of COUNTERS) s[c.name] = 0;
  return s;
}

/**
 * Keeps 64-bit running totals of the NIC's statistics. Clear-on-read counters are added up;
 * running counters are taken relative to the value seen at the last reset(), so the totals start
 * from zero whatever the NIC held before.
 */
export class StatisticsAccumulator {
  private readonly totals = zeroStatistics();
  private readonly baseline = zeroStatistics();

  constructor(private readonly registers: E1000Registers) {}

  /** Reads every counter and returns the updated totals (a fresh copy). */
  async read(): Promise<E1000Statistics> {
    const raw = await this.readRaw();
    for (let i = 0; i < COUNTERS.length; i++) {
      const c = COUNTERS[i]!;
      const value = raw[i]!;
      if (c.kind !== 'running32') {
        this.totals[c.name] += value;
        continue;
      }
      // Below the baseline: the NIC was reset behind our back and counts from zero again.
      if (value < this.baseline[c.name]) this.baseline[c.name] = 0;
      this.totals[c.name] = value - this.baseline[c.name];
    }
    return { ...this.totals };
  }

  /** Reads (and so clears) every counter and starts the totals again from zero. */
  async reset(): Promise<void> {
    const raw = await this.readRaw();
    for (let i = 0; i < COUNTERS.length; i++) {
      const c = COUNTERS[i]!;
      this.totals[c.name] = 0;
      this.baseline[c.name] = c.kind === 'running32' ? raw[i]! : 0;
    }
  }

  /**
   * One read at a time, each pair low half before high half: as a CPU would, and so every read is
   * its own preemption point under the kernel's DeviceRegisters (about 45 round trips; statistics
   * are read rarely).
   */
  private async readRaw(): Promise<number[]> {
    const values: number[] = [];
    for (const c of COUNTERS) {
      if (c.kind === 'clear64') {
        const low = await this.registers.read32(c.offset);
        const high = await this.registers.read32(c.offset + 4);
        values.push(high * 0x1_0000_0000 + low);
      } else {
        values.push(await this.registers.read32(c.offset));
      }
    }
    return values;
  }
}
