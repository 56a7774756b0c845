/**
 * Test doubles for bookkeeping tests of the e1000 hardware layer (no QEMU): guest memory over a
 * Buffer that records every pread/pwrite, a bump DMA allocator, and a register file with a tiny
 * model of the parts of the 82540EM the rings touch (TX processed on the TDT write, RX frames
 * injected at RDH, write-back that ORs status bits the way QEMU does).
 */
import { DESCRIPTOR_SIZE } from '../../../src/drivers/e1000/descriptors.ts';
import type { E1000Registers } from '../../../src/drivers/e1000/registers.ts';
import { Reg } from '../../../src/drivers/e1000/registers.ts';
import { BumpDma, type AllocatedRegion } from '../../support/bump-dma.ts';

export { BumpDma, type AllocatedRegion };

export interface MemoryOp {
  op: 'read' | 'write';
  address: number;
  length: number;
  /** The parts of a read the ring said it uses (GuestMemory.readInto). */
  used?: number[];
}

export class RecordingMemory {
  readonly bytes: Buffer;
  readonly ops: MemoryOp[] = [];

  constructor(readonly size = 8 * 1024 * 1024) {
    this.bytes = Buffer.alloc(size);
  }

  readInto(addr: number, target: Uint8Array, used?: readonly number[]): void {
    this.ops.push({ op: 'read', address: addr, length: target.byteLength, ...(used ? { used: [...used] } : {}) });
    target.set(this.bytes.subarray(addr, addr + target.byteLength));
  }

  write(addr: number, data: Uint8Array): void {
    this.ops.push({ op: 'write', address: addr, length: data.byteLength });
    this.bytes.set(data, addr);
  }

  take(): MemoryOp[] {
    return this.ops.splice(0);
  }
}

export interface RegisterWrite {
  offset: number;
  value: number;
}

/** A register file: plain storage, with optional per-offset read and write behaviour. */
export class FakeRegisters implements E1000Registers {
  readonly values = new Map<number, number>();
  readonly writes: RegisterWrite[] = [];
  readonly reads: number[] = [];
  readonly onRead = new Map<number, (stored: number) => number>();
  readonly onWrite = new Map<number, (value: number) => void>();

  async read32(offset: number): Promise<number> {
    this.reads.push(offset);
    const stored = this.values.get(offset) ?? 0;
    const hook = this.onRead.get(offset);
    return (hook ? hook(stored) : stored) >>> 0;
  }

  write32(offset: number, value: number): void {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new Error(`bad register value ${value}`);
    this.writes.push({ offset, value });
    this.values.set(offset, value);
    this.onWrite.get(offset)?.(value);
  }

  writesTo(offset: number): number[] {
    return this.writes.filter((w) => w.offset === offset).map((w) => w.value);
  }
}

/**
 * The 82540EM's ring behaviour over FakeRegisters and RecordingMemory: a TDT write sends every
 * descriptor from TDH to TDT (recording the frames) and writes DD back; inject() stores a frame
 * at RDH like QEMU's receive path.
 */
export class RingModel {
  readonly sent: Buffer[] = [];
  autoTransmit = true;

  constructor(
    readonly regs: FakeRegisters,
    readonly memory: RecordingMemory,
  ) {
    regs.onWrite.set(Reg.TDT, () => {
      if (this.autoTransmit) this.transmit();
    });
  }

  private reg(offset: number): number {
    return this.regs.values.get(offset) ?? 0;
  }

  /** Processes TX descriptors from TDH to TDT. */
  transmit(limit = Infinity): number {
    const mem = this.memory.bytes;
    const base = this.reg(Reg.TDBAL);
    const count = this.reg(Reg.TDLEN) / DESCRIPTOR_SIZE;
    let tdh = this.reg(Reg.TDH);
    let n = 0;
    while (tdh !== this.reg(Reg.TDT) && n < limit) {
      const at = base + tdh * DESCRIPTOR_SIZE;
      const addr = mem.readUInt32LE(at);
      const len = mem.readUInt16LE(at + 8);
      this.sent.push(Buffer.from(mem.subarray(addr, addr + len)));
      mem[at + 12] = mem[at + 12]! | 1;
      tdh = (tdh + 1) % count;
      n++;
    }
    this.regs.values.set(Reg.TDH, tdh);
    return n;
  }

  /** Stores a frame at RDH (false when the ring has no free descriptor). Status is ORed, as QEMU does. */
  inject(frame: Uint8Array, errors = 0): boolean {
    const mem = this.memory.bytes;
    const base = this.reg(Reg.RDBAL);
    const count = this.reg(Reg.RDLEN) / DESCRIPTOR_SIZE;
    const rdh = this.reg(Reg.RDH);
    if (rdh === this.reg(Reg.RDT)) return false;
    const at = base + rdh * DESCRIPTOR_SIZE;
    const addr = mem.readUInt32LE(at);
    const padded = Math.max(frame.length, 60);
    mem.fill(0, addr, addr + padded);
    mem.set(frame, addr);
    mem.writeUInt16LE(padded, at + 8);
    mem[at + 12] = mem[at + 12]! | 0x01 | 0x02;
    mem[at + 13] = mem[at + 13]! | errors;
    this.regs.values.set(Reg.RDH, (rdh + 1) % count);
    return true;
  }
}
