import type { QemuPropertyValue } from '../../qemu/stub-config.ts';
import type { RegisterBackend } from './registers.ts';

/**
 * The PCI NIC a machine is built around, as its driver knows it. QEMU emulates it
 * (`-device <qemuModel>`), the bring-up finds it on bus 0 by vendor and device id (or, without
 * them, as the one network controller there). The driver layer provides the value and the host
 * passes it in: the platform knows no particular NIC.
 */
export interface PciNicModel {
  /** For logs and errors, e.g. the chip's name. */
  readonly name: string;
  /** QEMU's device model name. */
  readonly qemuModel: string;
  /** Absent (both): the bring-up takes the one function of class 02h (network controller) on bus 0. */
  readonly vendorId?: number;
  readonly deviceId?: number;
  /** Index of the memory BAR that holds the register file (`MachineNic.registers`). Absent: the first memory BAR. */
  readonly registerBar?: number;
  /** The model's own QEMU properties, appended to `-device` in order. */
  readonly qemuProperties?: Readonly<Record<string, QemuPropertyValue>>;
  /**
   * Reads what identifies the device (e.g. its status and station address registers) for the
   * debug log after each bring-up. It must leave the device's state as it found it.
   */
  readonly identify?: (registers: Pick<RegisterBackend, 'read32'>) => Promise<Record<string, unknown>>;
}

/** A PciNicModel as the bring-up found it: ids and register BAR known. */
export type FoundNicModel = PciNicModel & { readonly vendorId: number; readonly deviceId: number; readonly registerBar: number };
