/*
 * Longer than the usual 450 lines on purpose: E1000Hardware is one device's register-level
 * programming model (reset, EEPROM, MAC, link, interrupts, moderation, filter, statistics, halt),
 * the one-file-per-device layout of ixy and of QEMU's hw/net/e1000.c; the rings and the register
 * map are already in their own files, and cutting the rest would split one register file's rules.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { logger } from '../../util/log.ts';
import type { RingDma, RingMemory } from './ring-storage.ts';
import { E1000ConfigError, E1000EepromError, E1000StateError, E1000TimeoutError } from './errors.ts';
import { eepromWordsToMac, formatMac, isMulticast, macToReceiveAddress, parseMac, receiveAddressToMac } from './mac-address.ts';
import { buildMulticastTable } from './multicast-table.ts';
import {
  Ctrl,
  EEPROM_CHECKSUM_SUM,
  EEPROM_WORD_COUNT,
  Eerd,
  Icr,
  ICR_ALL,
  ITR_UNIT_NS,
  MTA_REGISTER_COUNT,
  RAH_AV,
  ral,
  rah,
  RECEIVE_ADDRESS_COUNT,
  Rctl,
  Reg,
  Status,
  Tctl,
  TCTL_COLD_FULL_DUPLEX,
  TCTL_CT_DEFAULT,
  TIPG_DEFAULT,
  type E1000Registers,
} from './registers.ts';
import { RxRing } from './rx-ring.ts';
import { StatisticsAccumulator, type E1000Statistics } from './statistics.ts';
import type { E1000RingSettings } from './settings.ts';
import { TxRing } from './tx-ring.ts';

const log = logger('e1000');

/** What write() returns once a posted write is on its way: already settled, shared. */
const POSTED: Promise<void> = Promise.resolve();

export interface E1000HardwareOptions extends E1000RingSettings {
  registers: E1000Registers;
  memory: RingMemory;
  dma: RingDma;
  /** Prefix of the DMA region tags. */
  tag?: string;
  /** How long self-clearing bits (CTRL.RST, EERD.DONE) and the TX drain may take. Default 1000 ms. */
  timeoutMs?: number;
  /**
   * How the polls wait between reads. A driver passes its framework's sleep (NdisMSleep,
   * KeDelayExecutionThread), so the kernel model sees the wait and the processor is free meanwhile;
   * without a kernel (the raw bench client, hardware tests) a plain timer.
   */
  delay?: (microseconds: number) => Promise<void>;
  /**
   * Milliseconds since boot, for the polls' deadlines. A driver passes its framework's reading
   * (NdisGetSystemUpTimeEx, KeQueryInterruptTime): a recording keeps it, so a replay times out where
   * the session did. Without a kernel, the host's clock.
   */
  upTimeMs?: () => number;
}

export interface LinkState {
  /** STATUS.LU. */
  up: boolean;
  /** From STATUS.SPEED. */
  speedMbps: 10 | 100 | 1000;
  /** STATUS.FD. */
  fullDuplex: boolean;
}

/**
 * Interrupt moderation, each value in the NIC's own units; a field left out keeps its value.
 * QEMU 7.2 implements ITR, RADV (only while RDTR is non-zero) and TADV (only for descriptors with
 * IDE, which the TX ring sets while TIDV or TADV is non-zero), and never delays less than 128 µs
 * once its mitigation window is open.
 */
export interface InterruptThrottle {
  /** ITR: minimum gap between interrupts, in 256 ns units (0 = no throttling). interruptRateToItr() converts. */
  itr?: number;
  /** RDTR: receive packet timer, in 1.024 µs units (0 = off). */
  rdtr?: number;
  /** RADV: receive absolute delay, in 1.024 µs units. */
  radv?: number;
  /** TIDV: transmit packet delay, in 1.024 µs units. */
  tidv?: number;
  /** TADV: transmit absolute delay, in 1.024 µs units. */
  tadv?: number;
}

/** What to receive besides frames to our own address (which the 82540EM always accepts). */
export interface PacketFilter {
  /** Every unicast and multicast frame, and broadcasts (RCTL.UPE | MPE | BAM). */
  promiscuous?: boolean;
  /** Every multicast frame (RCTL.MPE). */
  allMulticast?: boolean;
  /** Broadcast frames (RCTL.BAM). */
  broadcast?: boolean;
  /** Multicast addresses to accept through the MTA hash (its aliases get through too). */
  multicast?: readonly string[];
}

/** Causes a miniport normally enables: RX timer, overrun, descriptor threshold, link change, TX written back. */
export const DEFAULT_INTERRUPT_MASK = Icr.RXT0 | Icr.RXO | Icr.RXDMT0 | Icr.LSC | Icr.TXDW;

/** ITR value for at most `perSecond` interrupts per second. */
export function interruptRateToItr(perSecond: number): number {
  if (!(perSecond > 0)) throw new E1000ConfigError(`interrupt rate ${perSecond} must be positive`, { perSecond });
  return Math.min(0xffff, Math.max(1, Math.round(1e9 / (perSecond * ITR_UNIT_NS))));
}

/** RCTL bits that never change after initialisation: 2048-byte buffers, CRC stripped, threshold ½. */
const RCTL_BASE = Rctl.BSIZE_2048 | Rctl.SECRC | Rctl.RDMTS_HALF;
const THROTTLE_FIELDS = [
  ['itr', Reg.ITR],
  ['rdtr', Reg.RDTR],
  ['radv', Reg.RADV],
  ['tidv', Reg.TIDV],
  ['tadv', Reg.TADV],
] as const;

/**
 * The Intel 82540EM as QEMU's e1000 models it, with no knowledge of NDIS or KMDF: reset, address,
 * link, rings, interrupt causes and mask, moderation, filters, statistics, quiesce and release.
 * Framework miniports drive it; every register access is awaited, so each is a preemption point
 * when `registers` is the kernel's DeviceRegisters.
 *
 * Lifecycle: new (DMA rings allocated) → initialize() → traffic → quiesce() → release().
 */
export class E1000Hardware {
  readonly tx: TxRing;
  readonly rx: RxRing;
  private readonly registers: E1000Registers;
  private readonly statistics: StatisticsAccumulator;
  private readonly timeoutMs: number;
  private readonly delay: (microseconds: number) => Promise<void>;
  private readonly upTimeMs: () => number;
  private readonly mta = new Uint32Array(MTA_REGISTER_COUNT);
  private rctl = 0;
  private macBytes: Uint8Array | undefined;
  private readonly throttle: Required<InterruptThrottle> = { itr: 0, rdtr: 0, radv: 0, tidv: 0, tadv: 0 };
  /** The NIC may DMA into the rings (TX or RX has been enabled since the last quiesce/reset). */
  private dmaActive = false;
  private released = false;
  private removed = false;

  constructor(opts: E1000HardwareOptions) {
    this.registers = opts.registers;
    this.timeoutMs = opts.timeoutMs ?? 1000;
    this.delay = opts.delay ?? ((us) => sleep(us / 1000));
    this.upTimeMs = opts.upTimeMs ?? (() => performance.now());
    const tag = opts.tag ?? 'e1000';
    this.tx = new TxRing(opts.memory, opts.registers, opts.dma, { size: opts.txRingSize, tag });
    try {
      this.rx = new RxRing(opts.memory, opts.registers, opts.dma, { size: opts.rxRingSize, tag });
    } catch (err) {
      this.tx.release();
      throw err;
    }
    this.statistics = new StatisticsAccumulator(opts.registers);
  }

  /** The station address, once readMacAddress() (or initialize()) has run. */
  get mac(): string {
    if (!this.macBytes) throw new E1000StateError('MAC address not read yet: call initialize() or readMacAddress()');
    return formatMac(this.macBytes);
  }

  /** Current RCTL value as last written. */
  get receiveControl(): number {
    return this.rctl;
  }

  /**
   * Brings the NIC to a known state: interrupts masked, RX and TX off, CTRL.RST (which on QEMU
   * 7.2 only clears itself), then every register this layer uses written explicitly: ring
   * registers zero, moderation off, MTA and receive addresses 1–15 cleared, link set up, causes
   * cleared, statistics totals restarted.
   */
  async reset(): Promise<void> {
    this.assertNotReleased('reset');
    await this.write(Reg.IMC, ICR_ALL);
    await this.write(Reg.RCTL, 0);
    await this.write(Reg.TCTL, 0);
    const ctrl = await this.read(Reg.CTRL);
    await this.write(Reg.CTRL, ctrl | Ctrl.RST);
    await this.pollUntil('CTRL.RST to clear', Reg.CTRL, (v) => (v & Ctrl.RST) === 0);
    this.dmaActive = false;
    this.rctl = 0;

    await this.write(Reg.IMC, ICR_ALL);
    const after = await this.read(Reg.CTRL);
    const cleared = Ctrl.LRST | Ctrl.ILOS | Ctrl.FRCSPD | Ctrl.FRCDPLX | Ctrl.PHY_RST | Ctrl.VME | Ctrl.RST;
    await this.write(Reg.CTRL, (after | Ctrl.SLU | Ctrl.ASDE) & ~cleared);
    for (const reg of [Reg.TDBAL, Reg.TDBAH, Reg.TDLEN, Reg.TDH, Reg.TDT, Reg.RDBAL, Reg.RDBAH, Reg.RDLEN, Reg.RDH, Reg.RDT]) {
      await this.write(reg, 0);
    }
    for (const [field, reg] of THROTTLE_FIELDS) {
      await this.write(reg, 0);
      this.throttle[field] = 0;
    }
    this.tx.setInterruptDelay(false);
    for (let i = 0; i < MTA_REGISTER_COUNT; i++) await this.write(Reg.MTA + 4 * i, 0);
    this.mta.fill(0);
    for (let n = 1; n < RECEIVE_ADDRESS_COUNT; n++) {
      await this.write(ral(n), 0);
      await this.write(rah(n), 0);
    }
    await this.read(Reg.ICR);
    await this.statistics.reset();
    log.debug('reset done');
  }

  /** One EEPROM word through EERD (start, then poll DONE; data in bits 31:16). */
  async readEepromWord(word: number): Promise<number> {
    if (!Number.isInteger(word) || word < 0 || word >= EEPROM_WORD_COUNT) {
      throw new E1000ConfigError(`EEPROM word ${word} is outside 0..${EEPROM_WORD_COUNT - 1}`, { word });
    }
    await this.write(Reg.EERD, (word << Eerd.ADDR_SHIFT) | Eerd.START);
    const v = await this.pollUntil(`EERD.DONE for word ${word}`, Reg.EERD, (x) => (x & Eerd.DONE) !== 0);
    return v >>> Eerd.DATA_SHIFT;
  }

  /** Words 0x00–0x3F must add up to 0xBABA (SDM 5.6.1); returns the sum or throws E1000EepromError. */
  async validateEepromChecksum(): Promise<number> {
    let sum = 0;
    for (let w = 0; w < EEPROM_WORD_COUNT; w++) sum = (sum + (await this.readEepromWord(w))) & 0xffff;
    if (sum !== EEPROM_CHECKSUM_SUM) {
      throw new E1000EepromError(`EEPROM checksum is 0x${sum.toString(16)}, expected 0x${EEPROM_CHECKSUM_SUM.toString(16)}`, {
        sum,
      });
    }
    return sum;
  }

  /**
   * Reads the permanent address from EEPROM words 0–2 and the current one from RAL0/RAH0. If RAH0
   * holds a valid address it must equal the EEPROM's (E1000EepromError otherwise); if it holds
   * none, the EEPROM's is programmed into RAL0/RAH0.
   */
  async readMacAddress(): Promise<string> {
    const words = [await this.readEepromWord(0), await this.readEepromWord(1), await this.readEepromWord(2)] as const;
    const fromEeprom = eepromWordsToMac(words);
    const low = await this.read(ral(0));
    const high = await this.read(rah(0));
    if ((high & RAH_AV) === 0) {
      await this.programReceiveAddress(fromEeprom);
    } else {
      const fromRegisters = receiveAddressToMac(low, high);
      if (formatMac(fromRegisters) !== formatMac(fromEeprom)) {
        throw new E1000EepromError(`RAL0/RAH0 hold ${formatMac(fromRegisters)} but the EEPROM says ${formatMac(fromEeprom)}`, { ral0: low, rah0: high >>> 0, eeprom: words });
      }
    }
    this.macBytes = fromEeprom;
    return formatMac(fromEeprom);
  }

  /** Replaces the station address in RAL0/RAH0 (a locally administered override). */
  async setMacAddress(mac: string): Promise<void> {
    const bytes = parseMac(mac);
    if (isMulticast(bytes)) throw new E1000ConfigError(`${mac} is a multicast address`, { mac });
    await this.programReceiveAddress(bytes);
    this.macBytes = bytes;
  }

  async readLinkState(): Promise<LinkState> {
    const status = await this.read(Reg.STATUS);
    const speedBits = (status & Status.SPEED_MASK) >>> Status.SPEED_SHIFT;
    return {
      up: (status & Status.LU) !== 0,
      speedMbps: speedBits === 0 ? 10 : speedBits === 1 ? 100 : 1000,
      fullDuplex: (status & Status.FD) !== 0,
    };
  }

  /**
   * reset(), readMacAddress(), then the transmit and receive units, in the SDM's order; the
   * default filter accepts our address and broadcasts. Interrupts stay masked: call
   * enableInterrupts() when the ISR is connected. Note: QEMU accepts no frame for about 1 s after
   * an RCTL write; frames sent meanwhile wait and arrive afterwards.
   */
  async initialize(filter: PacketFilter = { broadcast: true }): Promise<{ mac: string; link: LinkState }> {
    await this.reset();
    const mac = await this.readMacAddress();
    await this.initializeTransmit();
    await this.initializeReceive(filter);
    const link = await this.readLinkState();
    log.debug({ mac, link }, 'initialized');
    return { mac, link };
  }

  /** TX ring registers, TIPG, then TCTL = EN | PSP | CT 15 | COLD 64 (full duplex). */
  async initializeTransmit(): Promise<void> {
    await this.tx.program();
    await this.write(Reg.TIPG, TIPG_DEFAULT);
    this.dmaActive = true;
    await this.write(Reg.TCTL, Tctl.EN | Tctl.PSP | (TCTL_CT_DEFAULT << Tctl.CT_SHIFT) | (TCTL_COLD_FULL_DUPLEX << Tctl.COLD_SHIFT));
  }

  /** RX ring registers (all descriptors but one handed over), MTA, then RCTL with EN. */
  async initializeReceive(filter: PacketFilter = { broadcast: true }): Promise<void> {
    await this.rx.program();
    this.dmaActive = true;
    await this.applyFilter(filter, true);
  }

  /** IMS: unmask causes (cumulative). */
  enableInterrupts(mask: number = DEFAULT_INTERRUPT_MASK): Promise<void> {
    return this.write(Reg.IMS, mask);
  }

  /** IMC: mask every cause; the line drops at once. */
  disableInterrupts(): Promise<void> {
    return this.write(Reg.IMC, ICR_ALL);
  }

  /** IMS read: the causes currently unmasked. */
  readInterruptMask(): Promise<number> {
    return this.read(Reg.IMS);
  }

  /** ICR read: returns the pending causes and clears them all, which lowers the line. 0 = not ours. */
  readAndClearCauses(): Promise<number> {
    return this.read(Reg.ICR);
  }

  /** ICS write: sets causes as if the hardware had (a software-triggered interrupt). */
  raiseCauses(mask: number): Promise<void> {
    return this.write(Reg.ICS, mask);
  }

  async setInterruptThrottle(t: InterruptThrottle): Promise<void> {
    for (const [field, reg] of THROTTLE_FIELDS) {
      const v = t[field];
      if (v === undefined) continue;
      if (!Number.isInteger(v) || v < 0 || v > 0xffff) {
        throw new E1000ConfigError(`${field} ${v} is outside 0..65535`, { field, value: v });
      }
      await this.write(reg, v);
      this.throttle[field] = v;
    }
    this.tx.setInterruptDelay(this.throttle.tidv > 0 || this.throttle.tadv > 0);
  }

  /**
   * ITR alone, leaving the moderation values as configured (`interruptThrottle`) untouched: the
   * driver's adaptive moderation switches it with the kind of load and back.
   */
  writeInterruptRate(itr: number): Promise<void> {
    if (!Number.isInteger(itr) || itr < 0 || itr > 0xffff) {
      return Promise.reject(new E1000ConfigError(`itr ${itr} is outside 0..65535`, { field: 'itr', value: itr }));
    }
    return this.write(Reg.ITR, itr);
  }

  /** The moderation values as last written. */
  get interruptThrottle(): Readonly<Required<InterruptThrottle>> {
    return { ...this.throttle };
  }

  /** Running totals since reset (clear-on-read counters accumulated, 64-bit pairs low half first). */
  async readStatistics(): Promise<E1000Statistics> {
    return this.statistics.read();
  }

  /** Starts the statistics totals again from zero. */
  async resetStatistics(): Promise<void> {
    await this.statistics.reset();
  }

  /**
   * Programs UPE/MPE/BAM and the multicast table. MTA registers are written only where they change
   * and RCTL only if it changes, because each RCTL write makes QEMU stop receiving for about 1 s.
   */
  async setPacketFilter(filter: PacketFilter): Promise<void> {
    await this.applyFilter(filter, (this.rctl & Rctl.EN) !== 0);
    // The writes are posted: without this, a frame already on the wire can still meet the old filter.
    await this.flushPostedWrites();
  }

  /**
   * Stops the NIC touching memory: interrupts masked, RX disabled, in-flight TX frames allowed to
   * finish (TDH reaching TDT), TX disabled, causes cleared (the line is then low). The rings keep
   * what was received and completed; harvest()/reap() still work. E1000TimeoutError if TX does not
   * drain within the timeout (TX is disabled regardless).
   */
  async quiesce(): Promise<void> {
    // Gone from the bus: nothing to stop, and polling TDH (all ones) would only time out.
    if (this.removed) return;
    await this.write(Reg.IMC, ICR_ALL);
    const rctl = await this.read(Reg.RCTL);
    if (rctl & Rctl.EN) await this.write(Reg.RCTL, rctl & ~Rctl.EN);
    this.rctl = rctl & ~Rctl.EN;
    const tctl = await this.read(Reg.TCTL);
    let drainError: E1000TimeoutError | undefined;
    if (tctl & Tctl.EN) {
      try {
        await this.pollUntil('TX to drain (TDH == TDT)', Reg.TDH, (tdh) => tdh === this.tx.tailIndex);
      } catch (err) {
        drainError = err as E1000TimeoutError;
      }
      await this.write(Reg.TCTL, tctl & ~Tctl.EN);
    }
    await this.read(Reg.ICR);
    this.tx.reap();
    this.dmaActive = false;
    if (drainError) throw drainError;
  }

  /** The device was surprise-removed: it DMAs no more, and quiesce() leaves it alone. */
  deviceRemoved(): void {
    this.removed = true;
    this.dmaActive = false;
  }

  /** Frees the DMA rings. Only after quiesce() or reset(): the NIC must no longer own them. Idempotent. */
  release(): void {
    if (this.released) return;
    if (this.dmaActive) {
      throw new E1000StateError('release() while the NIC may still DMA into the rings: quiesce() first', {
        tx: this.tx.inFlight,
      });
    }
    this.tx.release();
    this.rx.release();
    this.released = true;
  }

  /** A register read: every posted write before it has taken effect when it returns (PCI ordering). */
  async flushPostedWrites(): Promise<void> {
    await this.read(Reg.STATUS);
  }

  private async applyFilter(filter: PacketFilter, enable: boolean): Promise<void> {
    const addresses = (filter.multicast ?? []).map((m) => {
      const bytes = parseMac(m);
      if (!isMulticast(bytes)) throw new E1000ConfigError(`${m} is not a multicast address`, { mac: m });
      return bytes;
    });
    const table = buildMulticastTable(addresses);
    for (let i = 0; i < MTA_REGISTER_COUNT; i++) {
      if (table[i] === this.mta[i]) continue;
      await this.write(Reg.MTA + 4 * i, table[i]!);
      this.mta[i] = table[i]!;
    }
    let rctl = RCTL_BASE | (enable ? Rctl.EN : 0);
    if (filter.promiscuous) rctl |= Rctl.UPE | Rctl.MPE | Rctl.BAM;
    if (filter.allMulticast) rctl |= Rctl.MPE;
    if (filter.broadcast) rctl |= Rctl.BAM;
    rctl >>>= 0;
    if (rctl === this.rctl) return;
    await this.write(Reg.RCTL, rctl);
    this.rctl = rctl;
  }

  private async programReceiveAddress(mac: Uint8Array): Promise<void> {
    const { low, high } = macToReceiveAddress(mac);
    await this.write(ral(0), low);
    await this.write(rah(0), high | RAH_AV);
  }

  /** Reads `reg` until `done(value)`, sleeping 1 ms between reads after the first few. */
  private async pollUntil(what: string, reg: number, done: (value: number) => boolean): Promise<number> {
    const deadline = this.upTimeMs() + this.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      const v = await this.read(reg);
      if (done(v)) return v;
      if (this.upTimeMs() > deadline) {
        throw new E1000TimeoutError(`timed out waiting for ${what}`, {
          register: `0x${reg.toString(16)}`,
          value: `0x${v.toString(16)}`,
          timeoutMs: this.timeoutMs,
          attempts: attempt + 1,
        });
      }
      if (attempt >= 3) await this.delay(1000);
    }
  }

  private read(reg: number): Promise<number> {
    return this.registers.read32(reg);
  }

  /**
   * Values go out unsigned: bit-31 masks built with JS bit operators are negative numbers. A plain
   * function (not async) so that a posted write through registers that need no waiting makes no
   * promise; a synchronous failure still comes back as a rejection.
   */
  private write(reg: number, value: number): Promise<void> {
    try {
      return this.registers.write32(reg, value >>> 0) ?? POSTED;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private assertNotReleased(op: string): void {
    if (this.released) throw new E1000StateError(`${op}() after release()`, { op });
  }
}
