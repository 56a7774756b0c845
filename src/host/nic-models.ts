import { e1000Device } from '../drivers/e1000/device.ts';
import type { PciNicModel } from '../platform/nic-model.ts';
import { DriverHostError } from './errors.ts';

/** How a NIC is chosen: a QEMU `-device` model name, or a PciNicModel. */
export type NicModelChoice = string | PciNicModel;

/**
 * The PCI NICs whose ids and register BAR dirql knows: vendor and device id as QEMU 7.2 reports
 * them, and the memory BAR that holds the register file. Any other name is brought up as the one
 * network controller on the bus, its registers in its first memory BAR.
 */
const KNOWN: Record<string, () => PciNicModel> = {
  e1000: () => e1000Device(),
  // hw/net/e1000e.c: the 82574L, registers in BAR0 (128 KiB MMIO).
  e1000e: () => ({ name: 'Intel 82574L', qemuModel: 'e1000e', vendorId: 0x8086, deviceId: 0x10d3, registerBar: 0 }),
  // hw/net/rtl8139.c: BAR0 is the I/O window, BAR1 the same 256 registers as MMIO.
  rtl8139: () => ({ name: 'Realtek RTL8139', qemuModel: 'rtl8139', vendorId: 0x10ec, deviceId: 0x8139, registerBar: 1 }),
};

/** The QEMU model names resolveNicModel knows. */
export function knownNicModels(): string[] {
  return Object.keys(KNOWN);
}

/**
 * The PciNicModel of `choice`: a known name's, any other QEMU model name as the bus's one network
 * controller (first memory BAR), or the model given (checked field by field).
 */
export function resolveNicModel(choice: NicModelChoice): PciNicModel {
  if (typeof choice === 'string') {
    const make = KNOWN[choice];
    if (make) return make();
    if (!QEMU_MODEL.test(choice)) {
      throw new DriverHostError(`'${choice}' is not a QEMU -device model name (e.g. ${knownNicModels().join(', ')}, pcnet, virtio-net-pci)`, { device: choice });
    }
    return { name: choice, qemuModel: choice };
  }
  checkNicModel(choice);
  return choice;
}

/** Throws a DriverHostError naming the first field of `m` that is missing or of the wrong type. */
export function checkNicModel(m: unknown, where = 'device'): asserts m is PciNicModel {
  if (typeof m !== 'object' || m === null) throw new DriverHostError(`${where} must be a QEMU model name or a PciNicModel object`, { [where]: m });
  const o = m as Record<string, unknown>;
  const field = (key: string, ok: (v: unknown) => boolean, what: string) => {
    if (!ok(o[key])) throw new DriverHostError(`${where}.${key} must be ${what} (got ${JSON.stringify(o[key])})`, { key: `${where}.${key}`, value: o[key] });
  };
  const optional = (ok: (v: unknown) => boolean) => (v: unknown) => v === undefined || ok(v);
  const id = (v: unknown) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffff;
  field('name', (v) => typeof v === 'string' && v !== '', 'a non-empty string');
  field('qemuModel', (v) => typeof v === 'string' && QEMU_MODEL.test(v), "QEMU's -device model name");
  field('vendorId', optional(id), 'a 16-bit PCI vendor id');
  field('deviceId', optional(id), 'a 16-bit PCI device id');
  if ((o.vendorId === undefined) !== (o.deviceId === undefined)) {
    const missing = o.vendorId === undefined ? 'vendorId' : 'deviceId';
    throw new DriverHostError(`${where}.${missing} must be given with ${missing === 'vendorId' ? 'deviceId' : 'vendorId'} (or neither: the bus's one network controller)`, {
      key: `${where}.${missing}`,
    });
  }
  field(
    'registerBar',
    optional((v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 5),
    'a BAR index 0..5',
  );
}

/** What QEMU accepts as a -device driver name. */
const QEMU_MODEL = /^[A-Za-z0-9][\w.-]*$/;
