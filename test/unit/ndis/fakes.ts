import type { KernelOptions } from '../../../src/kernel/index.ts';
import { FakeInterruptDevice, ICR, ICS, IMC, IMS } from '../../support/fake-interrupt-device.ts';
import { FakeLines } from '../../support/fake-lines.ts';
import { kernelOnFakeLines, type KernelOnFakeLines } from '../../support/kernel-rig.ts';

export { FakeLines };

export const LINE = 11;
export const CTRL = 0x0;
export { ICR, ICS, IMS, IMC };
export const RXT0 = 0x80;
export const LSC = 0x4;

/** The facade tests' NIC: every cause masked until the driver unmasks some (as after reset). */
export class FakeNic extends FakeInterruptDevice {
  constructor(lines: FakeLines, line = LINE) {
    super(lines, { line, mask: 0 });
  }
}

export interface KernelRig extends KernelOnFakeLines {
  nic: FakeNic;
}

/** A kernel on fake lines with a temporary bug check directory. */
export function makeKernelRig(opts: Omit<KernelOptions, 'lines' | 'bugCheckDir'> = {}): KernelRig {
  const base = kernelOnFakeLines('dirql-ndis-', opts);
  return { ...base, nic: new FakeNic(base.lines) };
}
