/**
 * A small model of the 82540EM for the miniport core's unit tests (no QEMU): the register
 * semantics the core relies on (ICR read-to-clear, ICS/IMS/IMC driving a level line, EERD,
 * CTRL.RST, STATUS.LU with LSC), TX processed inside the TDT write, RX frames stored at RDH with
 * back-pressure while the ring is full, and a few clear-on-read statistics. Guest memory is a
 * Buffer; DMA regions come from a bump allocator that tracks what is live.
 */

import type { Kernel, RegisterBackend } from '../../../src/kernel/index.ts';
import { BumpDma } from '../../support/bump-dma.ts';
import { FakeLines } from '../../support/fake-lines.ts';

export { BumpDma, FakeLines };
import { Ctrl, Icr, Rctl, Reg, Stat, Status, Tctl, ral, rah } from '../../../src/drivers/e1000/registers.ts';

export const LINE = 11;
const MAC_WORDS = [0x5452, 0x1200, 0x5634];

export class TestMemory {
  readonly bytes = Buffer.alloc(16 * 1024 * 1024);
  readInto(addr: number, target: Uint8Array): void {
    target.set(this.bytes.subarray(addr, addr + target.byteLength));
  }
  write(addr: number, data: Uint8Array): void {
    this.bytes.set(data, addr);
  }
}

export interface RegisterWrite {
  offset: number;
  value: number;
  /** IRQL of the routine that wrote it (undefined outside any routine). */
  irql: number | undefined;
}

export class FakeE1000 implements RegisterBackend {
  readonly regs = new Map<number, number>();
  readonly writes: RegisterWrite[] = [];
  /** Frames the NIC transmitted, in order. */
  readonly sent: Buffer[] = [];
  /** Frames waiting to be received (the ring was full or RX off): back-pressure, not loss. */
  readonly backlog: Buffer[] = [];
  causes = 0;
  mask = 0;
  private readonly eeprom = new Array<number>(64).fill(0);
  private stats = { gprc: 0, gptc: 0 };

  constructor(
    private readonly memory: TestMemory,
    private readonly lines: FakeLines,
    private readonly kernel?: Kernel,
  ) {
    MAC_WORDS.forEach((w, i) => (this.eeprom[i] = w));
    this.eeprom[0x3f] = (0xbaba - this.eeprom.slice(0, 0x3f).reduce((a, b) => a + b, 0)) & 0xffff;
    this.regs.set(Reg.STATUS, 0x80080783);
    this.regs.set(ral(0), 0x12005452);
    this.regs.set(rah(0), 0x8000_5634);
  }

  get(offset: number): number {
    return this.regs.get(offset) ?? 0;
  }

  writesTo(offset: number): RegisterWrite[] {
    return this.writes.filter((w) => w.offset === offset);
  }

  async read32(offset: number): Promise<number> {
    switch (offset) {
      case Reg.ICR: {
        const v = this.causes;
        this.causes = 0;
        this.update();
        return v >>> 0;
      }
      case Reg.IMS:
        return this.mask >>> 0;
      case Reg.EERD: {
        const v = this.get(Reg.EERD);
        return v & 1 ? ((this.eeprom[(v >>> 8) & 0xff]! << 16) | 0x10 | (v & 0xff00)) >>> 0 : v;
      }
      case Stat.GPRC: {
        const v = this.stats.gprc;
        this.stats.gprc = 0;
        return v;
      }
      case Stat.GPTC: {
        const v = this.stats.gptc;
        this.stats.gptc = 0;
        return v;
      }
      default:
        return this.get(offset) >>> 0;
    }
  }

  write32(offset: number, value: number): void {
    value >>>= 0;
    this.writes.push({ offset, value, irql: this.irqlNow() });
    switch (offset) {
      case Reg.ICS:
        this.causes |= value;
        break;
      case Reg.IMS:
        this.mask = (this.mask | value) >>> 0;
        break;
      case Reg.IMC:
        this.mask = (this.mask & ~value) >>> 0;
        break;
      case Reg.ICR:
        this.causes &= ~value;
        break;
      case Reg.CTRL:
        this.regs.set(offset, value & ~Ctrl.RST);
        break;
      case Reg.TDT:
        this.regs.set(offset, value);
        this.transmit();
        break;
      case Reg.RDT:
        this.regs.set(offset, value);
        this.receiveBacklog();
        break;
      case Reg.RCTL:
        this.regs.set(offset, value);
        this.receiveBacklog();
        break;
      default:
        this.regs.set(offset, value);
    }
    this.update();
  }

  async flush(): Promise<void> {}

  /** A frame arrives from the wire. */
  inject(frame: Uint8Array): void {
    this.backlog.push(Buffer.from(frame));
    this.receiveBacklog();
    this.update();
  }

  /** The link goes down or up: STATUS.LU changes and LSC is raised. */
  setLink(up: boolean): void {
    const status = this.get(Reg.STATUS);
    this.regs.set(Reg.STATUS, up ? status | Status.LU : status & ~Status.LU);
    this.raise(Icr.LSC);
  }

  raise(cause: number): void {
    this.causes |= cause;
    this.update();
  }

  private irqlNow(): number | undefined {
    const act = this.kernel?.current();
    return act && !act.ended ? act.irql : undefined;
  }

  private transmit(): void {
    if (!(this.get(Reg.TCTL) & Tctl.EN)) return;
    const mem = this.memory.bytes;
    const base = this.get(Reg.TDBAL);
    const count = this.get(Reg.TDLEN) / 16;
    let tdh = this.get(Reg.TDH);
    let n = 0;
    while (tdh !== this.get(Reg.TDT)) {
      const at = base + tdh * 16;
      const addr = mem.readUInt32LE(at);
      const len = mem.readUInt16LE(at + 8);
      this.sent.push(Buffer.from(mem.subarray(addr, addr + len)));
      mem[at + 12] = mem[at + 12]! | 1;
      tdh = (tdh + 1) % count;
      n++;
    }
    this.regs.set(Reg.TDH, tdh);
    if (n > 0) {
      this.stats.gptc += n;
      this.causes |= Icr.TXDW | Icr.TXQE;
    }
  }

  private receiveBacklog(): void {
    if (!(this.get(Reg.RCTL) & Rctl.EN)) return;
    const mem = this.memory.bytes;
    const base = this.get(Reg.RDBAL);
    const count = this.get(Reg.RDLEN) / 16;
    let stored = 0;
    while (this.backlog.length > 0) {
      const rdh = this.get(Reg.RDH);
      if (rdh === this.get(Reg.RDT)) {
        this.causes |= Icr.RXO;
        break;
      }
      const frame = this.backlog.shift()!;
      const at = base + rdh * 16;
      const addr = mem.readUInt32LE(at);
      const padded = Math.max(frame.length, 60);
      mem.fill(0, addr, addr + padded);
      mem.set(frame, addr);
      mem.writeUInt16LE(padded, at + 8);
      mem[at + 12] = mem[at + 12]! | 0x03;
      this.regs.set(Reg.RDH, (rdh + 1) % count);
      stored++;
    }
    if (stored > 0) {
      this.stats.gprc += stored;
      this.causes |= Icr.RXT0;
    }
  }

  private update(): void {
    this.lines.set(LINE, (this.causes & this.mask) >>> 0 !== 0);
  }
}
