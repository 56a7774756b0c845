import { PciError, hex } from './errors.ts';
import { barAddress, barKind, barOffset, decodeBarSize, type BarInfo } from './pci-bar.ts';
import { PciCommand, PciConfigSpace, PciReg, formatBdf, type PciAddress } from './pci-config.ts';
import type { ResourceWindow } from './resource-window.ts';

/** One function found on the bus. */
export interface PciFunctionInfo extends PciAddress {
  bdf: string;
  vendorId: number;
  deviceId: number;
  classCode: number;
  subclass: number;
  progIf: number;
  revision: number;
  /** Header layout (0 device, 1 PCI bridge, 2 CardBus), without the multi-function bit. */
  headerType: number;
  multiFunction: boolean;
  /** 0 none, 1..4 INTA#..INTD# (config 0x3D). */
  interruptPin: number;
}

export interface AssignedBar extends BarInfo {
  /** Bus address the host placed the BAR at. */
  address: number;
}

/** Scans every device (and function, when multi-function) of one bus. */
export async function enumerateBus(config: PciConfigSpace, bus = 0): Promise<PciFunctionInfo[]> {
  const found: PciFunctionInfo[] = [];
  for (let device = 0; device < 32; device++) {
    const first = await probe(config, { bus, device, function: 0 });
    if (!first) continue;
    found.push(first);
    if (!first.multiFunction) continue;
    for (let fn = 1; fn < 8; fn++) {
      const f = await probe(config, { bus, device, function: fn });
      if (f) found.push(f);
    }
  }
  return found;
}

async function probe(config: PciConfigSpace, a: PciAddress): Promise<PciFunctionInfo | undefined> {
  const ids = await config.read32(a, PciReg.VendorId);
  const vendorId = ids & 0xffff;
  if (vendorId === 0xffff || vendorId === 0) return undefined;
  const classRev = await config.read32(a, PciReg.ClassRevision);
  const header = await config.read8(a, PciReg.HeaderType);
  const pin = await config.read8(a, PciReg.InterruptPin);
  return {
    ...a,
    bdf: formatBdf(a),
    vendorId,
    deviceId: ids >>> 16,
    classCode: classRev >>> 24,
    subclass: (classRev >>> 16) & 0xff,
    progIf: (classRev >>> 8) & 0xff,
    revision: classRev & 0xff,
    headerType: header & 0x7f,
    multiFunction: (header & 0x80) !== 0,
    interruptPin: pin,
  };
}

/**
 * Sizes the six BARs of a type 0 function (write all ones, read back, restore) with memory and
 * I/O decoding switched off meanwhile, so the device never decodes the all-ones address.
 */
export async function sizeBars(config: PciConfigSpace, fn: PciFunctionInfo): Promise<BarInfo[]> {
  if (fn.headerType !== 0) throw new PciError(`${fn.bdf} is not a type 0 function`, { bdf: fn.bdf, headerType: fn.headerType });
  const command = await config.read16(fn, PciReg.Command);
  // A dword write with zeros in STATUS: its write-1-to-clear bits stay as they are.
  config.write32(fn, PciReg.Command, command & ~(PciCommand.Io | PciCommand.Memory));
  const bars: BarInfo[] = [];
  try {
    for (let i = 0; i < 6; i++) {
      const off = barOffset(i);
      const original = await config.read32(fn, off);
      config.write32(fn, off, 0xffff_ffff);
      const readback = await config.read32(fn, off);
      config.write32(fn, off, original);
      if (readback === 0) continue;
      const kind = barKind(readback);
      let upper: number | undefined;
      if (kind === 'mem64') {
        if (i === 5) throw new PciError(`${fn.bdf} BAR5 claims to be 64-bit`, { bdf: fn.bdf });
        const upOff = barOffset(i + 1);
        const upOriginal = await config.read32(fn, upOff);
        config.write32(fn, upOff, 0xffff_ffff);
        upper = await config.read32(fn, upOff);
        config.write32(fn, upOff, upOriginal);
      }
      bars.push({ index: i, kind, prefetchable: kind !== 'io' && (readback & 8) !== 0, size: decodeBarSize(readback, upper) });
      if (kind === 'mem64') i++;
    }
  } finally {
    config.write32(fn, PciReg.Command, command);
  }
  return bars;
}

/**
 * Places each BAR in its window (memory BARs in `mmio`, I/O BARs in `io`) and writes the
 * address. 64-bit BARs are placed below 4 GiB (upper dword 0).
 */
export async function assignBars(config: PciConfigSpace, fn: PciFunctionInfo, windows: { mmio: ResourceWindow; io: ResourceWindow }): Promise<AssignedBar[]> {
  const bars = await sizeBars(config, fn);
  const assigned: AssignedBar[] = [];
  for (const bar of bars) {
    const window = bar.kind === 'io' ? windows.io : windows.mmio;
    const address = window.allocate(bar.size, `${fn.bdf} BAR${bar.index}`);
    config.write32(fn, barOffset(bar.index), address);
    if (bar.kind === 'mem64') config.write32(fn, barOffset(bar.index + 1), 0);
    assigned.push({ ...bar, address });
  }
  // Read back: a BAR that does not hold its address would make every later access go astray.
  for (const bar of assigned) {
    const value = barAddress(await config.read32(fn, barOffset(bar.index)));
    if (value !== bar.address) {
      throw new PciError(`${fn.bdf} BAR${bar.index} reads back ${hex(value)} after writing ${hex(bar.address)}`, {
        bdf: fn.bdf,
        bar: bar.index,
        wrote: bar.address,
        read: value,
      });
    }
  }
  return assigned;
}

/** Sets COMMAND bits (memory, I/O, bus master) and clears INTx disable. */
export async function enableDevice(config: PciConfigSpace, fn: PciFunctionInfo, bits: number): Promise<number> {
  const command = await config.read16(fn, PciReg.Command);
  const next = (command | bits) & ~PciCommand.InterruptDisable;
  // STATUS (upper half) has write-1-to-clear bits: write zeros there.
  config.write32(fn, PciReg.Command, next & 0xffff);
  const readBack = await config.read16(fn, PciReg.Command);
  if ((readBack & bits) !== bits) {
    throw new PciError(`${fn.bdf} COMMAND reads ${hex(readBack)} after setting ${hex(bits)}`, { bdf: fn.bdf, command: readBack, bits });
  }
  return readBack;
}
