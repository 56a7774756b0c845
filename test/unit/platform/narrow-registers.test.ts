import { describe, expect, it } from 'vitest';
import { RegisterAccessError } from '../../../src/platform/errors.ts';
import { MmioRegion, type MmioTransport } from '../../../src/platform/registers.ts';

/** A transport with qtest's 8/16/32-bit calls, logging each. */
class WideTransport implements MmioTransport {
  readonly log: string[] = [];
  async readl(addr: number): Promise<number> {
    this.log.push(`readl ${addr.toString(16)}`);
    return 0x12345678;
  }
  writel(addr: number, value: number): void {
    this.log.push(`writel ${addr.toString(16)} ${value.toString(16)}`);
  }
  async readb(addr: number): Promise<number> {
    this.log.push(`readb ${addr.toString(16)}`);
    return 0x52;
  }
  async readw(addr: number): Promise<number> {
    this.log.push(`readw ${addr.toString(16)}`);
    return 0x782d;
  }
  writeb(addr: number, value: number): void {
    this.log.push(`writeb ${addr.toString(16)} ${value.toString(16)}`);
  }
  writew(addr: number, value: number): void {
    this.log.push(`writew ${addr.toString(16)} ${value.toString(16)}`);
  }
  async fence(): Promise<void> {
    this.log.push('fence');
  }
}

describe('MmioRegion 8- and 16-bit access', () => {
  it('reads and writes bytes and words at BAR base + offset with qtest readb/readw/writeb/writew', async () => {
    const t = new WideTransport();
    const r = new MmioRegion(t, 0xe0000000, 0x100);
    expect(await r.read8(0x5)).toBe(0x52);
    expect(await r.read16(0x64)).toBe(0x782d);
    r.write8(0x37, 0x10);
    r.write16(0x3e, 0xffff);
    expect(t.log).toEqual(['readb e0000005', 'readw e0000064', 'writeb e0000037 10', 'writew e000003e ffff']);
  });

  it('checks the size, alignment and value of each width before anything reaches QEMU', async () => {
    const t = new WideTransport();
    const r = new MmioRegion(t, 0xe0000000, 0x100, { name: '00:02.0 BAR1' });
    await expect(r.read8(0x100)).rejects.toBeInstanceOf(RegisterAccessError);
    await expect(r.read16(0xff)).rejects.toThrow(/outside the 0x100-byte region/);
    await expect(r.read16(0x63)).rejects.toThrow(/0x63 is not 2-byte aligned/);
    expect(() => r.write8(0x0, 0x100)).toThrow(/not a 8-bit value/);
    expect(() => r.write16(0x2, 0x10000)).toThrow(/not a 16-bit value/);
    expect(() => r.write16(0x2, -1)).toThrow(RegisterAccessError);
    expect(t.log).toEqual([]);
  });

  it('says which access the transport lacks instead of calling something that is not there', async () => {
    const only32: MmioTransport = { readl: async () => 0, writel: () => undefined, fence: async () => undefined };
    const r = new MmioRegion(only32, 0, 0x100, { name: 'BAR1' });
    const err = await r.read8(0).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegisterAccessError);
    expect((err as Error).message).toBe('BAR1: read8 at 0x0: the transport has no 8-bit access');
    expect(() => r.write16(0, 1)).toThrow('BAR1: write16 at 0x0: the transport has no 16-bit access');
  });
});
