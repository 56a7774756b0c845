import type { KernelOptions } from '../../../src/kernel/index.ts';
import { FakeInterruptDevice, ICR, ICS, IMC, IMS } from '../../support/fake-interrupt-device.ts';
import { FakeLines } from '../../support/fake-lines.ts';
import { kernelOnFakeLines, type KernelOnFakeLines } from '../../support/kernel-rig.ts';

export { FakeLines, ICR, ICS, IMS, IMC };

/** The kernel tests' device: every cause unmasked until a test masks some. */
export class FakeDevice extends FakeInterruptDevice {
  constructor(lines: FakeLines, line = 11) {
    super(lines, { line, mask: 0xffffffff });
  }
}

export interface Rig extends KernelOnFakeLines {
  device: FakeDevice;
}

/** A kernel on fake lines with a temp bug check directory. */
export function makeRig(opts: Omit<KernelOptions, 'lines' | 'bugCheckDir'> = {}): Rig {
  const base = kernelOnFakeLines('dirql-kernel-', opts);
  return { ...base, device: new FakeDevice(base.lines) };
}
