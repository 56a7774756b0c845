import { afterEach, describe, expect, it } from 'vitest';
import { DeviceRegisters, KernelError, type RegisterBackend } from '../../../src/kernel/index.ts';
import { makeRig, type Rig } from './fakes.ts';

let rig: Rig;
afterEach(async () => rig?.cleanup());

/** Byte-addressed registers with 8/16-bit access (the RTL8139's kind). */
class ByteRegisters implements RegisterBackend {
  readonly bytes = new Uint8Array(0x100);
  async read32(o: number): Promise<number> {
    return (this.bytes[o]! | (this.bytes[o + 1]! << 8) | (this.bytes[o + 2]! << 16) | (this.bytes[o + 3]! << 24)) >>> 0;
  }
  write32(o: number, v: number): void {
    for (let i = 0; i < 4; i++) this.bytes[o + i] = (v >>> (8 * i)) & 0xff;
  }
  async flush(): Promise<void> {}
  async read8(o: number): Promise<number> {
    return this.bytes[o]!;
  }
  async read16(o: number): Promise<number> {
    return this.bytes[o]! | (this.bytes[o + 1]! << 8);
  }
  write8(o: number, v: number): void {
    this.bytes[o] = v;
  }
  write16(o: number, v: number): void {
    this.bytes[o] = v & 0xff;
    this.bytes[o + 1] = v >>> 8;
  }
}

describe('DeviceRegisters 8- and 16-bit access (READ_REGISTER_UCHAR/USHORT, WRITE_REGISTER_UCHAR/USHORT)', () => {
  it('reaches the backend at the offset given and traces each access with the register name', async () => {
    rig = makeRig();
    const backend = new ByteRegisters();
    backend.bytes.set([0x52, 0x54, 0x00, 0x12, 0x34, 0x56], 0);
    const regs = new DeviceRegisters(rig.kernel, backend, { name: 'rtl', registerName: (o) => (o === 0x3c ? 'IMR' : undefined) });
    const mac: number[] = [];
    await rig.kernel.runAtPassive('ReadMac', async () => {
      for (let i = 0; i < 6; i++) mac.push(await regs.read8(i));
      await regs.write16(0x3c, 0x0020);
      await regs.write8(0x37, 0x0c);
      expect(await regs.read16(0x3c)).toBe(0x0020);
    });
    expect(mac).toEqual([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
    expect(backend.bytes[0x37]).toBe(0x0c);
    const text = rig.kernel.trace
      .tail()
      .filter((e) => e.kind.startsWith('mmio'))
      .map((e) => e.detail);
    expect(text.slice(-3)).toEqual(['rtl.IMR(0x3c) <- 0x20 by ReadMac', 'rtl[0x37] <- 0xc by ReadMac', 'rtl.IMR(0x3c) -> 0x20 by ReadMac']);
  });

  it('a backend without them fails the call with a KernelError naming the DDI', async () => {
    rig = makeRig();
    const regs = new DeviceRegisters(rig.kernel, rig.device, { name: 'nic' });
    // Caught in the routine: uncaught, it would be the driver's exception (bug check 0x7E).
    let read: unknown;
    let write: unknown;
    await rig.kernel.runAtPassive('NarrowAccess', async () => {
      read = await regs.read8(0).catch((e: unknown) => e);
      write = await regs.write16(0, 1).catch((e: unknown) => e);
    });
    expect(read).toBeInstanceOf(KernelError);
    expect((read as Error).message).toBe('READ_REGISTER_UCHAR: the nic registers have no 8-bit access');
    expect((write as Error).message).toBe('WRITE_REGISTER_USHORT: the nic registers have no 16-bit access');
  });

  it('outside a kernel routine they are refused like read32 (no routine to preempt)', async () => {
    rig = makeRig();
    const regs = new DeviceRegisters(rig.kernel, new ByteRegisters());
    await expect(regs.read16(0)).rejects.toThrow(/READ_REGISTER_USHORT must be called from a routine/);
  });
});
