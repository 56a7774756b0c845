import type { PciNicModel } from '../../platform/nic-model.ts';
import { formatMac, receiveAddressToMac } from './mac-address.ts';
import { Reg, rah, ral, type E1000Registers } from './registers.ts';

export const INTEL_VENDOR_ID = 0x8086;
/** The 82540EM's PCI device id, the chip QEMU's `e1000` model is. */
export const E1000_82540EM_DEVICE_ID = 0x100e;

export interface E1000DeviceOptions {
  /**
   * QEMU's e1000 interrupt mitigation (its default: on): later interrupt edges inside the
   * moderation window are deferred. Off makes every edge immediate.
   */
  mitigation?: boolean;
}

/**
 * QEMU's e1000 as the platform brings it up: the Intel 82540EM at 8086:100E, its 128 KiB
 * register file in BAR0 (BAR1 is the IOADDR/IODATA window). The host passes this to startMachine.
 */
export function e1000Device(opts: E1000DeviceOptions = {}): PciNicModel {
  return {
    name: 'Intel 82540EM',
    qemuModel: 'e1000',
    vendorId: INTEL_VENDOR_ID,
    deviceId: E1000_82540EM_DEVICE_ID,
    registerBar: 0,
    qemuProperties: { mitigation: opts.mitigation ?? true },
    identify: readIdentity,
  };
}

/** The station address RAL0/RAH0 hold (the Address Valid bit ignored), `52:54:00:12:34:56`. */
export async function readStationAddress(registers: Pick<E1000Registers, 'read32'>): Promise<string> {
  const low = await registers.read32(ral(0));
  const high = await registers.read32(rah(0));
  return formatMac(receiveAddressToMac(low, high));
}

/** The station address and STATUS as QEMU left them after reset, for the platform's debug log (reads only). */
async function readIdentity(registers: Pick<E1000Registers, 'read32'>): Promise<Record<string, unknown>> {
  const mac = await readStationAddress(registers);
  const status = await registers.read32(Reg.STATUS);
  return { mac, status: `0x${status.toString(16)}` };
}
