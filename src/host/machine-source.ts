import { checkedQemuBinary } from '../../qemu/qemu-binary.ts';
import { attachMachine } from '../platform/attach.ts';
import { startMachine, type Machine } from '../platform/machine.ts';
import type { PciNicModel } from '../platform/nic-model.ts';
import { DriverHostError } from './errors.ts';
import type { DriverHostOptions } from './host-options.ts';
import { stubNetdev } from './netdev.ts';

/**
 * The host's machine: QEMU spawned as its child (the default), or, with `attach`, the QEMU a
 * launcher runs in that directory (`dirql qemu --listen DIR`), whose wire, MAC and binary are the
 * launcher's: giving them here too is a contradiction, not a silent override.
 */
export async function hostMachine(opts: DriverHostOptions, device: PciNicModel): Promise<Machine> {
  // A replay's machine answers from its recording: no QEMU binary, no netdev.
  if (opts.startMachine) return opts.startMachine({ ...opts.machine, device, ...(opts.mac ? { mac: opts.mac } : {}) });
  if (opts.attach !== undefined) {
    const attach = typeof opts.attach === 'string' ? { dir: opts.attach } : opts.attach;
    const ignored: string[] = (['netdev', 'wire', 'mac'] as const).filter((k) => opts[k] !== undefined);
    if (opts.machine?.qemuBinary !== undefined) ignored.push('machine.qemuBinary');
    if (ignored.length > 0) {
      throw new DriverHostError(`attach: ${ignored.join(', ')} belong to the launcher in ${attach.dir} (dirql qemu --listen), not to an attaching host`, {
        dir: attach.dir,
        options: ignored,
      });
    }
    return attachMachine({
      ...attach,
      device,
      ...(opts.machine?.irq !== undefined ? { irq: opts.machine.irq } : {}),
      ...(opts.machine?.mmioWindow ? { mmioWindow: opts.machine.mmioWindow } : {}),
      ...(opts.machine?.ioWindow ? { ioWindow: opts.machine.ioWindow } : {}),
      ...(opts.machine?.qtestCommandTimeoutMs !== undefined ? { qtestCommandTimeoutMs: opts.machine.qtestCommandTimeoutMs } : {}),
    });
  }
  // Before any socket, RAM file or process exists: a missing QEMU is a clear error, not a spawn failure.
  const qemu = checkedQemuBinary(opts.machine?.qemuBinary);
  return startMachine({
    ...opts.machine,
    qemuBinary: qemu,
    device,
    netdev: await stubNetdev(opts.netdev, opts.wire, qemu),
    ...(opts.mac ? { mac: opts.mac } : {}),
  });
}
