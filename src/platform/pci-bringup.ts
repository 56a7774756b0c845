import { PciError } from './errors.ts';
import { assignBars, enableDevice, enumerateBus, type AssignedBar, type PciFunctionInfo } from './pci-bus.ts';
import { PciCommand, PciConfigSpace, type PortIo } from './pci-config.ts';
import { routeIntx, type IntxRoute } from './piix3-intx.ts';
import { ResourceWindow } from './resource-window.ts';

export const INTEL = 0x8086;
export const PIIX3_ISA = 0x7000;
/** PCI base class 02h: network controller. */
export const PCI_CLASS_NETWORK = 0x02;

export interface PciWindows {
  mmio: ResourceWindow;
  io: ResourceWindow;
}

/** Default windows: MMIO from 0xE0000000 below the IOAPIC, I/O ports from 0xC000. */
export function defaultWindows(): PciWindows {
  return {
    mmio: new ResourceWindow('mmio', 0xe000_0000, 0xfec0_0000),
    io: new ResourceWindow('io', 0xc000, 0x1_0000),
  };
}

export interface BroughtUpDevice {
  functions: PciFunctionInfo[];
  device: PciFunctionInfo;
  bars: AssignedBar[];
  command: number;
  route: IntxRoute;
}

/**
 * What a BIOS would have done for one device, on bus 0 of the i440FX/PIIX3 board: find it (by
 * vendor and device id, or without them as the one network controller on the bus),
 * size and place its BARs, enable memory, I/O and bus mastering (a NIC does no DMA, so receives
 * nothing, without bus master), and route its INTx pin to `irq` through the PIIX3.
 */
export async function bringUpDevice(io: PortIo, windows: PciWindows, opts: { vendorId?: number; deviceId?: number; irq: number }): Promise<BroughtUpDevice> {
  const config = new PciConfigSpace(io);
  const functions = await enumerateBus(config, 0);
  const isa = functions.find((f) => f.vendorId === INTEL && f.deviceId === PIIX3_ISA);
  if (!isa) throw new PciError('no PIIX3 ISA bridge (8086:7000) on bus 0: not a pc machine?', { functions: summary(functions) });
  const device = findDevice(functions, opts);
  windows.mmio.reset();
  windows.io.reset();
  const bars = await assignBars(config, device, windows);
  const command = await enableDevice(config, device, PciCommand.Memory | PciCommand.Io | PciCommand.BusMaster);
  const route = await routeIntx(config, isa, device, opts.irq);
  return { functions, device, bars, command, route };
}

function findDevice(functions: PciFunctionInfo[], opts: { vendorId?: number; deviceId?: number }): PciFunctionInfo {
  if (opts.vendorId !== undefined || opts.deviceId !== undefined) {
    const device = functions.find((f) => f.vendorId === opts.vendorId && f.deviceId === opts.deviceId);
    if (!device) throw new PciError(`no ${hex4(opts.vendorId ?? 0)}:${hex4(opts.deviceId ?? 0)} on bus 0`, { functions: summary(functions) });
    return device;
  }
  const nics = functions.filter((f) => f.classCode === PCI_CLASS_NETWORK);
  if (nics.length !== 1) {
    throw new PciError(`${nics.length === 0 ? 'no' : `${nics.length}`} network controllers (class 02h) on bus 0: give the NIC's vendor and device id`, {
      functions: summary(functions),
    });
  }
  return nics[0]!;
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}

function summary(functions: PciFunctionInfo[]): string[] {
  return functions.map((f) => `${f.bdf} ${hex4(f.vendorId)}:${hex4(f.deviceId)}`);
}
