import { AttachedStub, type AttachStubOptions } from './attached-stub.ts';
import { AttachError } from './errors.ts';
import { composeMachine, type Machine } from './machine.ts';
import type { PciNicModel } from './nic-model.ts';
import { defaultWindows, type PciWindows } from './pci-bringup.ts';
import { ResourceWindow } from './resource-window.ts';

export { launcherHint } from './attached-stub.ts';

export interface AttachConfig extends AttachStubOptions {
  /** The NIC the driver expects: the launcher's QEMU must play the same QEMU model. */
  device: PciNicModel;
  /** ISA IRQ the NIC's INTx is routed to (default 11). */
  irq?: number;
  mmioWindow?: { start: number; end: number };
  ioWindow?: { start: number; end: number };
}

/**
 * The machine over a QEMU a launcher started (`dirql qemu --listen DIR`, qemu/launcher.ts) instead
 * of one the host spawns: the NIC is brought up the same way. machine.stop() lets go of that QEMU;
 * the launcher stops it and starts a fresh one for the next host.
 */
export async function attachMachine(cfg: AttachConfig): Promise<Machine> {
  const windows: PciWindows = {
    mmio: cfg.mmioWindow ? new ResourceWindow('mmio', cfg.mmioWindow.start, cfg.mmioWindow.end) : defaultWindows().mmio,
    io: cfg.ioWindow ? new ResourceWindow('io', cfg.ioWindow.start, cfg.ioWindow.end) : defaultWindows().io,
  };
  const stub = await AttachedStub.attach(cfg);
  if (stub.config.nic.model !== cfg.device.qemuModel) {
    await stub.stop();
    throw new AttachError(
      `the QEMU in ${stub.dir} plays '${stub.config.nic.model}', but the driver's device is '${cfg.device.qemuModel}': start the launcher with --device ${cfg.device.qemuModel}`,
      { dir: stub.dir, launcherNic: stub.config.nic.model, device: cfg.device.qemuModel },
    );
  }
  try {
    return await composeMachine(stub, cfg.device, windows, cfg.irq ?? 11);
  } catch (err) {
    await stub.stop();
    throw await stub.explain(err);
  }
}
