import { e1000KmdfDriverEntry, type E1000KmdfDevice } from '../../drivers/e1000/kmdf/index.ts';
import { registerName } from '../../drivers/e1000/registers.ts';
import { KmdfIoEdge } from '../../upper-edge/kmdf-io.ts';
import { logger } from '../../util/log.ts';
import { WdfFramework } from '../../wdf/index.ts';
import { coreSettings } from './machine-resources.ts';
import { runningVariant } from './running-variant.ts';
import type { RunningVariant, VariantContext } from './variant.ts';
import { kmdfClose } from './kmdf-close.ts';

const log = logger('host.kmdf');

/**
 * The KMDF e1000 driver on the KMDF facade, with the request-based upper edge: DriverEntry,
 * EvtDriverDeviceAdd (the PnP manager found the device), IRP_MN_START_DEVICE with BAR0 and the INTx
 * line, then writes and pended reads flow between the device and the PacketRings. Halt is
 * IRP_MN_STOP_DEVICE; close removes the device (pending reads cancelled) and unloads the driver.
 */
export async function startVariant(ctx: VariantContext): Promise<RunningVariant> {
  const { kernel, machine, settings } = ctx;
  const wdf = new WdfFramework(kernel, { name: 'e1000' });
  await wdf.loadDriver(e1000KmdfDriverEntry({ memory: machine.memory, dma: machine.dma, ...coreSettings(settings) }));
  const device = await wdf.addDevice();
  const driver = wdf.getContext<E1000KmdfDevice>(device);
  const edge = new KmdfIoEdge(wdf, {
    rxRing: ctx.rxRing,
    txRing: ctx.txRing,
    writesInFlight: settings.sendPoolSize,
    writeBatch: settings.sendBatch,
    onPublish: ctx.onReceivePublished,
    ...(ctx.tap ? { tap: ctx.tap } : {}),
    ...(ctx.handOuts ? { handOuts: ctx.handOuts } : {}),
    ...(ctx.readHandOuts ? { readHandOuts: ctx.readHandOuts } : {}),
  });
  driver.linkListener = (link) => edge.linkChanged(link.up, link.speedMbps * 1_000_000, link.fullDuplex);
  const registers = machine.nic.registers;
  try {
    await wdf.startDevice(
      {
        memory: [{ registers, start: registers.base, length: registers.size, name: 'e1000 BAR0', registerName }],
        interrupts: [{ line: machine.nic.irqLine }],
      },
      device,
    );
  } catch (err) {
    await wdf.removeDevice(device).catch((e: unknown) => log.warn({ err: e }, 'removing the device after a failed start failed too'));
    await edge.close().catch(() => undefined);
    throw err;
  }
  const core = driver.core!;
  edge.start(device, core.link.up);

  return runningVariant({
    framework: 'kmdf',
    kernel,
    core,
    exposeCore: false,
    edge,
    log,
    words: { halted: 'the device is stopped', halting: 'stopping the device' },
    haltDriver: () => wdf.stopDevice(device),
    surpriseRemoveDriver: () => wdf.surpriseRemoveDevice(device),
    pnpCalls: () => wdf.pnpCalls,
    close: kmdfClose(kernel, wdf, edge, log),
    frameworkStatistics: () => ({
      wdf: { deviceState: wdf.deviceState(device), requestPool: wdf.requestPool },
      driver: { ...driver.counters, framesWaiting: driver.framesWaiting },
      upperEdge: { ...edge.counters, readsOutstanding: edge.readsOutstanding },
    }),
    calls: () => ({ isr: driver.counters.isrCalls, dpc: driver.counters.dpcCalls, dpcWithoutIsr: core.counters.dpcQueuedWithoutIsr }),
  });
}
