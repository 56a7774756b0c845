/**
 * One QEMU for a whole explore (or shard): started before the first run, reset between runs,
 * stopped after the last. A run gets the machine as a fresh one would be: system_reset, then the
 * PCI bring-up again (BARs, COMMAND, PIRQ routing) and an empty DMA allocator. Guest RAM is not
 * zeroed: what the e1000 reads by DMA (descriptor rings) the driver writes itself at init, and
 * after system_reset the NIC has RCTL.EN and TCTL.EN clear, so it touches no memory until then.
 */
import { e1000Device } from '../drivers/e1000/device.ts';
import { startMachine, type Machine } from '../platform/machine.ts';

/** The devices a scenario can run on: the kernel model's fake ones (the scenario's own), or QEMU's e1000. */
export type ExploreDevice = 'kernel' | 'qemu-e1000';

export class ReusedMachine {
  private used = false;
  /** Runs that were handed the machine. */
  runs = 0;

  private constructor(readonly machine: Machine) {}

  /** QEMU with the device a scenario asked for (the only one so far: the e1000). */
  static async start(_device: Exclude<ExploreDevice, 'kernel'>): Promise<ReusedMachine> {
    return new ReusedMachine(await startMachine({ device: e1000Device() }));
  }

  /** The machine for the next run: as started for the first, reset for every later one. */
  async next(): Promise<Machine> {
    if (this.used) {
      // The previous run's driver is gone (its kernel disposed): its rings are the next one's to allocate.
      this.machine.dma.freeAll();
      await this.machine.reset();
    }
    this.used = true;
    this.runs++;
    return this.machine;
  }

  stop(): Promise<void> {
    return this.machine.stop();
  }
}
