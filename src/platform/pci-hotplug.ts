import type { QmpClient } from '../transport/qmp-client.ts';
import type { QtestClient } from '../transport/qtest-client.ts';
import { PciError } from './errors.ts';

/**
 * PIIX4 ACPI PCI hotplug on QEMU's i440FX `pc` (hw/acpi/pcihp.c): the I/O block at 0xAE00 whose
 * PCI_EJ register (0xAE08) the guest's ACPI _EJ0 method writes with the slot's bit to finish an
 * eject. `device_del` only asks the guest (an ACPI notify); without a guest OS the host writes it.
 */
export const PCI_HOTPLUG_BASE = 0xae00;
export const PCI_EJ = PCI_HOTPLUG_BASE + 0x08;

/** How long the eject may take to show as DEVICE_DELETED. */
const EJECT_TIMEOUT_MS = 5000;

export interface PciEjectTarget {
  /** The QOM id QEMU knows the device by (`-device …,id=`). */
  id: string;
  /** Its slot (PCI device number) on bus 0. */
  slot: number;
  bdf: string;
}

/**
 * Surprise removal of a bus-0 device: QMP `device_del`, then the ACPI eject written as the guest's
 * _EJ0 would (`outl PCI_EJ 1<<slot`), then DEVICE_DELETED awaited and `query-pci` checked: the
 * slot is empty. `beforeEject` runs between the two, when the device is about to leave the bus.
 */
export async function ejectPciDevice(qmp: QmpClient, qtest: QtestClient, target: PciEjectTarget, beforeEject?: () => void): Promise<void> {
  const { id, slot, bdf } = target;
  if (!Number.isInteger(slot) || slot < 1 || slot > 31) throw new PciError(`cannot eject ${bdf}: slot ${slot} is not a hotplug slot`, { bdf, slot });
  const deleted = qmp.waitForEvent('DEVICE_DELETED', EJECT_TIMEOUT_MS);
  try {
    await qmp.execute('device_del', { id });
    beforeEject?.();
    qtest.outl(PCI_EJ, (1 << slot) >>> 0);
    await qtest.fence();
    const ev = await deleted;
    const data = ev.data as { device?: string } | undefined;
    if (data?.device !== id) throw new PciError(`ejecting ${bdf}: DEVICE_DELETED named ${data?.device ?? 'no device'}, not ${id}`, { bdf, id, event: ev });
  } catch (err) {
    deleted.catch(() => undefined);
    throw err;
  }
  const buses = await qmp.execute('query-pci');
  const still = buses.find((b) => b.bus === 0)?.devices.some((d) => d.slot === slot);
  if (still) throw new PciError(`ejecting ${bdf}: query-pci still lists slot ${slot} after DEVICE_DELETED`, { bdf, slot });
}
