import type { Kernel } from '../kernel/index.ts';
import { irqlName } from '../kernel/index.ts';
import type { Machine } from '../platform/machine.ts';
import { logger } from '../util/log.ts';
import { DriverHostError } from './errors.ts';
import type { PnpCall, RunningVariant } from './frameworks/variant.ts';

const log = logger('host');

/** What the host reports once the NIC was surprise-removed ('surprise-removed', status, stats). */
export interface SurpriseRemoval {
  /** When the eject completed (ISO time). */
  at: string;
  /** The PCI function that went away, e.g. 00:02.0. */
  bdf: string;
  /** The PnP and power callbacks the framework made into the driver for the removal, in order. */
  callbacks: Array<{ handler: string; irql: string }>;
  /** Register writes the driver made after the device was gone (dropped, as on PCI). */
  droppedWrites: number;
}

/**
 * The NIC leaves the bus under a running driver: the last NIC statistics are read (they go with
 * the hardware), QEMU ejects the device (device_del and the ACPI eject), then the framework runs
 * the driver's own removal path (`ejected` is called between the two: a recording marks the place).
 * Nothing of the host stops: QEMU, the kernel and the control
 * plane stay up.
 */
export async function surpriseRemoveNic(kernel: Kernel, machine: Machine, variant: RunningVariant, ejected?: () => void): Promise<SurpriseRemoval> {
  if (!variant.surpriseRemove || !variant.pnpCalls) {
    throw new DriverHostError(`surprise removal is not wired for the ${variant.framework} variant`, { framework: variant.framework });
  }
  try {
    await variant.adapterStatistics?.();
  } catch (err) {
    log.warn({ err }, 'could not read the statistics before the surprise removal');
  }
  const before = variant.pnpCalls().length;
  const bdf = machine.nic.bdf;
  await machine.surpriseRemoveNic();
  const at = new Date().toISOString();
  kernel.trace.record('pci', `${bdf} surprise-removed (device_del and ACPI eject)`);
  log.warn({ bdf }, `the NIC at ${bdf} was surprise-removed; the host stays up`);
  ejected?.();
  await variant.surpriseRemove();
  const callbacks = variant
    .pnpCalls()
    .slice(before)
    .map((c: PnpCall) => ({ handler: c.handler, irql: irqlName(c.irql) }));
  return { at, bdf, callbacks, droppedWrites: machine.nic.registers.droppedWrites };
}
