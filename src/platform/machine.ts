import { DeviceStub, type StubTimings } from '../../qemu/device-stub.ts';
import type { MachineStub } from '../../qemu/stub-handle.ts';
import { NIC_ID, type DeviceStubConfig, type ResolvedNetdev } from '../../qemu/stub-config.ts';
import type { QmpClient } from '../transport/qmp-client.ts';
import type { QtestClient } from '../transport/qtest-client.ts';
import { logger } from '../util/log.ts';
import { DmaAllocator } from './dma-allocator.ts';
import { PlatformError, PciError, hex } from './errors.ts';
import { QtestMemory, SharedFileMemory, type AsyncGuestMemory, type GuestMemory } from './guest-memory.ts';
import { IrqLines } from './interrupt-lines.ts';
import type { PciFunctionInfo } from './pci-bus.ts';
import type { FoundNicModel, PciNicModel } from './nic-model.ts';
import { ejectPciDevice } from './pci-hotplug.ts';
import { bringUpDevice, defaultWindows, type BroughtUpDevice, type PciWindows } from './pci-bringup.ts';
import type { IntxRoute } from './piix3-intx.ts';
import { MmioRegion } from './registers.ts';
import { ResourceWindow } from './resource-window.ts';

const log = logger('machine');

/**
 * qtest QOM path of the interrupt controller whose inputs are intercepted. A partial path:
 * on 7.2's `pc` the IOAPIC is /machine/i440fx/ioapic (`/machine/ioapic` is refused).
 */
export const IOAPIC_QOM_PATH = 'ioapic';

export interface MachineConfig extends Omit<DeviceStubConfig, 'nic'> {
  /** The NIC QEMU emulates and the bring-up looks for (its driver layer provides it). */
  device: PciNicModel;
  /** ISA IRQ the NIC's INTx is routed to (default 11). */
  irq?: number;
  /** BAR windows, [start, end). Defaults: MMIO 0xE0000000–0xFEC00000, I/O 0xC000–0x10000. */
  mmioWindow?: { start: number; end: number };
  ioWindow?: { start: number; end: number };
}

export interface MachineNic {
  /** What was brought up: the model given, with the ids and register BAR the bring-up found. */
  model: FoundNicModel;
  bdf: string;
  /** The register file: the memory BAR `model.registerBar` names. */
  registers: MmioRegion;
  /** Base of the device's I/O BAR, if it has one. */
  ioBase?: number;
  /** ISA IRQ line the NIC interrupts on (IOAPIC input). */
  irqLine: number;
  /**
   * The station address QEMU was given (`-device …,mac=`), `52:54:00:12:34:56`. What the
   * device's registers hold is its driver's to read.
   */
  mac: string;
  pci: PciFunctionInfo;
  route: IntxRoute;
}

export interface Machine {
  qtest: QtestClient;
  qmp: QmpClient;
  /** The shared RAM file, or the qtest fallback when `sharedRam: false` (async methods only). */
  memory: GuestMemory & AsyncGuestMemory;
  dma: DmaAllocator;
  nic: MachineNic;
  lines: IrqLines;
  /** UDP ports on 127.0.0.1 (netdev dgram); throws for the other netdev kinds. */
  wire: { qemuPort: number; peerPort: number };
  /** What the wire is, whatever its kind. */
  netdev: ResolvedNetdev;
  /** The QEMU under the machine: the host's own child, or one it attached to (src/platform/attach.ts). */
  stub: MachineStub;
  /** Everything found on bus 0 at the last bring-up. */
  pciFunctions: PciFunctionInfo[];
  timings: StubTimings & { bringUpMs: number };
  /** QMP system_reset, then the PCI bring-up again (BARs, COMMAND and PIRQ routing were wiped). */
  reset(): Promise<void>;
  /**
   * Surprise removal of the NIC: QMP device_del completed by the ACPI eject (see pci-hotplug.ts).
   * From the eject on, its registers read all ones and drop writes; QEMU keeps running.
   */
  surpriseRemoveNic(): Promise<void>;
  /** The NIC was surprise-removed. */
  readonly nicRemoved: boolean;
  /** Idempotent: QEMU stopped, sockets closed, temp dir and RAM file removed. */
  stop(): Promise<void>;
}

/** Starts QEMU and brings the NIC up as a BIOS would: BARs placed, decoding and bus master on, INTx routed. */
export async function startMachine(cfg: MachineConfig): Promise<Machine> {
  const irq = cfg.irq ?? 11;
  const windows: PciWindows = {
    mmio: cfg.mmioWindow ? new ResourceWindow('mmio', cfg.mmioWindow.start, cfg.mmioWindow.end) : defaultWindows().mmio,
    io: cfg.ioWindow ? new ResourceWindow('io', cfg.ioWindow.start, cfg.ioWindow.end) : defaultWindows().io,
  };
  const stub = await DeviceStub.start(deviceStubConfig(cfg));
  try {
    return await composeMachine(stub, cfg.device, windows, irq);
  } catch (err) {
    await stub.stop();
    throw await stub.explain(err);
  }
}

/** What the device stub is told: the machine's settings, with the NIC as QEMU names it. */
export function deviceStubConfig(cfg: MachineConfig): DeviceStubConfig {
  const { device, ...stub } = cfg;
  return { ...stub, nic: { model: device.qemuModel, ...(device.qemuProperties ? { properties: device.qemuProperties } : {}) } };
}

/** The machine over a QEMU that is up (spawned or attached): the NIC brought up as a BIOS would. */
export async function composeMachine(stub: MachineStub, model: PciNicModel, windows: PciWindows, irq: number): Promise<Machine> {
  const t0 = performance.now();
  const qtest = stub.qtest;
  // Intercepting once is enough: the intercept survives system_reset.
  await qtest.irqInterceptIn(IOAPIC_QOM_PATH);
  const lines = new IrqLines(qtest);
  const memorySize = stub.config.memoryMiB * 1024 * 1024;
  const memory = stub.ram ? new SharedFileMemory(stub.ram) : new QtestMemory(qtest, memorySize);
  const dma = new DmaAllocator(memorySize);

  let up = await bringUp(qtest, model, windows, irq);
  let nic = await describeNic(stub, model, up);
  lines.watch(nic.irqLine);
  const timings = { ...stub.timings, bringUpMs: performance.now() - t0 };
  log.debug({ bdf: nic.bdf, mmio: hex(nic.registers.base), ioBase: nic.ioBase, irq: nic.irqLine, mac: nic.mac, timings }, 'machine up');

  let stopped: Promise<void> | undefined;
  const machine: Machine = {
    qtest,
    qmp: stub.qmp,
    memory,
    dma,
    get nic() {
      return nic;
    },
    lines,
    get wire() {
      const w = stub.wire;
      if (!w) throw new PlatformError(`netdev is ${stub.config.netdev.kind}: there is no UDP wire`, { netdev: stub.config.netdev.kind });
      return w;
    },
    get netdev() {
      return stub.config.netdev;
    },
    stub,
    get pciFunctions() {
      return up.functions;
    },
    timings,
    get nicRemoved() {
      return nic.registers.isRemoved;
    },
    async surpriseRemoveNic() {
      if (nic.registers.isRemoved) return;
      try {
        await ejectPciDevice(stub.qmp, qtest, { id: NIC_ID, slot: nic.pci.device, bdf: nic.bdf }, () => nic.registers.deviceRemoved());
      } catch (err) {
        throw await stub.explain(err);
      }
      log.debug({ bdf: nic.bdf }, 'NIC surprise-removed');
    },
    async reset() {
      const resetDone = stub.qmp.waitForEvent('RESET');
      try {
        await stub.qmp.execute('system_reset');
        await resetDone;
        up = await bringUp(qtest, model, windows, irq);
        const previous = nic.irqLine;
        nic = await describeNic(stub, model, up);
        if (nic.irqLine !== previous) lines.watch(nic.irqLine);
      } catch (err) {
        resetDone.catch(() => undefined);
        throw await stub.explain(err);
      }
    },
    stop() {
      stopped ??= (async () => {
        lines.dispose();
        dma.freeAll();
        await stub.stop();
      })();
      return stopped;
    },
  };
  return machine;
}

async function bringUp(qtest: QtestClient, model: PciNicModel, windows: PciWindows, irq: number): Promise<BroughtUpDevice> {
  return bringUpDevice(qtest, windows, { vendorId: model.vendorId, deviceId: model.deviceId, irq });
}

async function describeNic(stub: MachineStub, model: PciNicModel, up: BroughtUpDevice): Promise<MachineNic> {
  const n = model.registerBar;
  const bar = up.bars.find((b) => (n === undefined || b.index === n) && b.kind !== 'io');
  if (!bar) throw new PciError(`${model.name} at ${up.device.bdf} has no memory BAR${n ?? ''}`, { bdf: up.device.bdf, bars: up.bars });
  const io = up.bars.find((b) => b.kind === 'io');
  const registers = new MmioRegion(stub.qtest, bar.address, bar.size, {
    name: `${up.device.bdf} BAR${n}`,
    explain: (e) => stub.explain(e),
    explainNow: (e) => stub.explainNow(e),
  });
  if (model.identify) log.debug({ device: model.name, ...(await model.identify(registers)) }, 'device identity');
  return {
    model: { ...model, vendorId: up.device.vendorId, deviceId: up.device.deviceId, registerBar: bar.index },
    bdf: up.device.bdf,
    registers,
    ...(io ? { ioBase: io.address } : {}),
    irqLine: up.route.irq,
    mac: stub.config.mac,
    pci: up.device,
    route: up.route,
  };
}
