import { describe, expect, it } from 'vitest';
import { PciError } from '../../../src/platform/errors.ts';
import { assignBars, enumerateBus } from '../../../src/platform/pci-bus.ts';
import { PciConfigSpace, formatBdf, type PortIo } from '../../../src/platform/pci-config.ts';
import { pirqForPin } from '../../../src/platform/piix3-intx.ts';
import { ResourceWindow } from '../../../src/platform/resource-window.ts';
import { ResourceExhaustedError } from '../../../src/platform/errors.ts';

/**
 * Configuration mechanism #1 over a table of dwords, with BAR masks so that sizing works like
 * on hardware: a BAR keeps only its writable address bits. Stands in for ports 0xCF8/0xCFC.
 */
class FakeConfigPorts implements PortIo {
  address = 0;
  readonly space = new Map<number, number>();
  readonly barMasks = new Map<number, number>();

  setDword(dev: number, reg: number, value: number): void {
    this.space.set(PciConfigSpace.address({ bus: 0, device: dev, function: 0 }, reg), value >>> 0);
  }

  outl(port: number, value: number): void {
    if (port === 0xcf8) this.address = value >>> 0;
    else if (port === 0xcfc) {
      const mask = this.barMasks.get(this.address);
      const old = this.space.get(this.address) ?? 0;
      this.space.set(this.address, mask === undefined ? value >>> 0 : ((value & mask) | (old & ~mask & 0xf)) >>> 0);
    }
  }

  async inl(port: number): Promise<number> {
    if (port !== 0xcfc) return 0xffffffff;
    return this.space.get(this.address) ?? 0xffffffff;
  }
}

function fakeE1000Board(): FakeConfigPorts {
  const f = new FakeConfigPorts();
  f.setDword(0, 0x00, 0x12378086);
  f.setDword(0, 0x08, 0x06000002);
  f.setDword(0, 0x0c, 0);
  f.setDword(1, 0x00, 0x70008086);
  f.setDword(1, 0x08, 0x06010000);
  f.setDword(1, 0x0c, 0x00800000);
  f.setDword(2, 0x00, 0x100e8086);
  f.setDword(2, 0x04, 0);
  f.setDword(2, 0x08, 0x02000003);
  f.setDword(2, 0x0c, 0);
  f.setDword(2, 0x3c, 0x00000100);
  const bar0 = PciConfigSpace.address({ bus: 0, device: 2, function: 0 }, 0x10);
  const bar1 = PciConfigSpace.address({ bus: 0, device: 2, function: 0 }, 0x14);
  f.space.set(bar0, 0);
  f.space.set(bar1, 1);
  f.barMasks.set(bar0, 0xfffe0000);
  f.barMasks.set(bar1, 0x0000ffc0);
  for (let bar = 0x18; bar <= 0x24; bar += 4) {
    f.setDword(2, bar, 0);
    f.barMasks.set(PciConfigSpace.address({ bus: 0, device: 2, function: 0 }, bar), 0);
  }
  return f;
}

describe('PCI configuration mechanism #1', () => {
  it('encodes enable bit, bus, device, function and dword register into 0xCF8', () => {
    expect(PciConfigSpace.address({ bus: 0, device: 2, function: 0 }, 0x10)).toBe(0x80001010);
    expect(PciConfigSpace.address({ bus: 1, device: 31, function: 7 }, 0x3d)).toBe(0x8001ff3c);
    expect(formatBdf({ bus: 0, device: 2, function: 0 })).toBe('00:02.0');
  });

  it('refuses offsets past 256 bytes or misaligned for the width', async () => {
    const cfg = new PciConfigSpace(new FakeConfigPorts());
    const a = { bus: 0, device: 2, function: 0 };
    await expect(cfg.read32(a, 0x100)).rejects.toBeInstanceOf(PciError);
    await expect(cfg.read16(a, 0x3)).rejects.toBeInstanceOf(PciError);
    expect(() => cfg.write32(a, 0x2, 0)).toThrow(PciError);
    await expect(cfg.read8({ bus: 0, device: 32, function: 0 }, 0)).rejects.toBeInstanceOf(PciError);
  });

  it('reads bytes and words out of the containing dword', async () => {
    const f = fakeE1000Board();
    const cfg = new PciConfigSpace(f);
    const e1000 = { bus: 0, device: 2, function: 0 };
    expect(await cfg.read16(e1000, 0x02)).toBe(0x100e);
    expect(await cfg.read8(e1000, 0x3d)).toBe(1);
  });

  it('enumerates present functions and decodes class and multi-function bit', async () => {
    const fns = await enumerateBus(new PciConfigSpace(fakeE1000Board()));
    expect(fns.map((f) => f.bdf)).toEqual(['00:00.0', '00:01.0', '00:02.0']);
    const nic = fns[2]!;
    expect(nic).toMatchObject({ vendorId: 0x8086, deviceId: 0x100e, classCode: 2, subclass: 0, revision: 3, interruptPin: 1 });
    expect(fns[1]!.multiFunction).toBe(true);
  });

  it('sizes and assigns BAR0 (memory) and BAR1 (I/O) in their windows without overlap', async () => {
    const f = fakeE1000Board();
    const cfg = new PciConfigSpace(f);
    const nic = (await enumerateBus(cfg))[2]!;
    const windows = { mmio: new ResourceWindow('mmio', 0xe0000000, 0xfec00000), io: new ResourceWindow('io', 0xc000, 0x10000) };
    windows.mmio.allocate(0x1000, 'someone else');
    const bars = await assignBars(cfg, nic, windows);
    expect(bars).toEqual([
      { index: 0, kind: 'mem32', prefetchable: false, size: 0x20000, address: 0xe0020000 },
      { index: 1, kind: 'io', prefetchable: false, size: 64, address: 0xc000 },
    ]);
    expect(await cfg.read32(nic, 0x10)).toBe(0xe0020000);
    expect(await cfg.read32(nic, 0x14)).toBe(0xc001);
  });
});

describe('resource windows and INTx swizzle', () => {
  it('aligns each allocation to its size and reports exhaustion', () => {
    const w = new ResourceWindow('io', 0xc000, 0xc100);
    expect(w.allocate(0x10, 'a')).toBe(0xc000);
    expect(w.allocate(0x40, 'b')).toBe(0xc040);
    expect(w.allocate(0x80, 'c')).toBe(0xc080);
    expect(() => w.allocate(0x10, 'd')).toThrow(ResourceExhaustedError);
    expect(() => w.allocate(0x30, 'e')).toThrow(ResourceExhaustedError);
    w.reset();
    expect(w.allocate(0x10, 'a')).toBe(0xc000);
  });

  it('rotates INTx pins by slot as the i440FX board wires them', () => {
    expect(pirqForPin(1, 1)).toBe(0);
    expect(pirqForPin(2, 1)).toBe(1);
    expect(pirqForPin(2, 4)).toBe(0);
    expect(pirqForPin(3, 2)).toBe(3);
    expect(() => pirqForPin(2, 0)).toThrow(PciError);
  });
});
