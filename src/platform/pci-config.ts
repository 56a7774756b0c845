import { PciError, hex } from './errors.ts';

/** The port I/O a PCI configuration mechanism needs; QtestClient provides it. */
export interface PortIo {
  inl(port: number): Promise<number>;
  outl(port: number, value: number): void;
}

export const PCI_CONFIG_ADDRESS = 0xcf8;
export const PCI_CONFIG_DATA = 0xcfc;

/** Standard type 0 header offsets used here. */
export const PciReg = {
  VendorId: 0x00,
  Command: 0x04,
  ClassRevision: 0x08,
  HeaderType: 0x0e,
  InterruptLine: 0x3c,
  InterruptPin: 0x3d,
} as const;

export const PciCommand = {
  Io: 1 << 0,
  Memory: 1 << 1,
  BusMaster: 1 << 2,
  InterruptDisable: 1 << 10,
} as const;

export interface PciAddress {
  bus: number;
  device: number;
  function: number;
}

/** `00:02.0` */
export function formatBdf(a: PciAddress): string {
  const h = (n: number, w: number) => n.toString(16).padStart(w, '0');
  return `${h(a.bus, 2)}:${h(a.device, 2)}.${a.function}`;
}

/**
 * PCI configuration mechanism #1: write the enable bit, bus, device, function and dword
 * register to 0xCF8, then move the dword through 0xCFC. Byte and word accesses are done as
 * read-modify-write of the containing dword so that only `inl`/`outl` ever reach QEMU. The
 * address/data pair is one shared resource: callers must not interleave two accesses, which
 * holds here because each access is issued in one synchronous burst before its read is awaited.
 */
export class PciConfigSpace {
  constructor(private readonly io: PortIo) {}

  static address(a: PciAddress, offset: number): number {
    return (0x8000_0000 | (a.bus << 16) | (a.device << 11) | (a.function << 8) | (offset & 0xfc)) >>> 0;
  }

  async read32(a: PciAddress, offset: number): Promise<number> {
    this.check(a, offset, 4);
    this.io.outl(PCI_CONFIG_ADDRESS, PciConfigSpace.address(a, offset));
    return (await this.io.inl(PCI_CONFIG_DATA)) >>> 0;
  }

  /** Posted, like any port write. */
  write32(a: PciAddress, offset: number, value: number): void {
    this.check(a, offset, 4);
    this.io.outl(PCI_CONFIG_ADDRESS, PciConfigSpace.address(a, offset));
    this.io.outl(PCI_CONFIG_DATA, value >>> 0);
  }

  async read16(a: PciAddress, offset: number): Promise<number> {
    this.check(a, offset, 2);
    const dword = await this.read32(a, offset & ~3);
    return (dword >>> ((offset & 3) * 8)) & 0xffff;
  }

  async read8(a: PciAddress, offset: number): Promise<number> {
    this.check(a, offset, 1);
    const dword = await this.read32(a, offset & ~3);
    return (dword >>> ((offset & 3) * 8)) & 0xff;
  }

  /**
   * Read-modify-write of the containing dword. Beware registers with write-1-to-clear bits
   * (STATUS at 0x06): writing back what was read would clear them; use write32 with care there.
   */
  async write16(a: PciAddress, offset: number, value: number): Promise<void> {
    this.check(a, offset, 2);
    const shift = (offset & 3) * 8;
    const dword = await this.read32(a, offset & ~3);
    this.write32(a, offset & ~3, ((dword & ~(0xffff << shift)) | ((value & 0xffff) << shift)) >>> 0);
  }

  async write8(a: PciAddress, offset: number, value: number): Promise<void> {
    this.check(a, offset, 1);
    const shift = (offset & 3) * 8;
    const dword = await this.read32(a, offset & ~3);
    this.write32(a, offset & ~3, ((dword & ~(0xff << shift)) | ((value & 0xff) << shift)) >>> 0);
  }

  private check(a: PciAddress, offset: number, width: 1 | 2 | 4): void {
    const badAddr =
      !Number.isInteger(a.bus) ||
      a.bus < 0 ||
      a.bus > 255 ||
      !Number.isInteger(a.device) ||
      a.device < 0 ||
      a.device > 31 ||
      !Number.isInteger(a.function) ||
      a.function < 0 ||
      a.function > 7;
    if (badAddr) throw new PciError(`bad PCI address ${JSON.stringify(a)}`, { ...a });
    if (!Number.isInteger(offset) || offset < 0 || offset + width > 256 || offset % width !== 0) {
      throw new PciError(`bad ${width}-byte config offset ${hex(offset)} for ${formatBdf(a)}`, {
        bdf: formatBdf(a),
        offset,
        width,
      });
    }
  }
}
