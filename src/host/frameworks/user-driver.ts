import type { Kernel } from '../../kernel/index.ts';
import { MediaConnectState, MediaDuplexState, MiniportDriver, NDIS_LINK_SPEED_UNKNOWN, Ndis6, Oid } from '../../ndis/ndis6/index.ts';
import { Ndis5, Ndis5Driver } from '../../ndis/ndis5/index.ts';
import { KmdfIoEdge } from '../../upper-edge/kmdf-io.ts';
import { Ndis5ProtocolEdge } from '../../upper-edge/ndis5-protocol.ts';
import { Ndis6ProtocolEdge } from '../../upper-edge/index.ts';
import { logger } from '../../util/log.ts';
import { WdfFramework } from '../../wdf/index.ts';
import { DriverModuleError, type DriverEntryContext, type KmdfDriverModule, type LoadedDriverModule, type Ndis5DriverModule, type Ndis6DriverModule } from './driver-module.ts';
import { nicAdapterResources } from './machine-resources.ts';
import { edgeVariant } from './running-variant.ts';
import type { NicLinkState, RunningVariant, VariantContext, VariantFactory } from './variant.ts';
import { initializeWithEdge, ndisEdgeOptions } from './ndis-edge.ts';
import { kmdfClose } from './kmdf-close.ts';

const log = logger('host.user-driver');

/**
 * The variant that runs a user's driver module on its framework, the way the e1000 variants run
 * theirs (DriverEntry, then the framework's initialisation with the machine's NIC as resources,
 * then the upper edge bound), with nothing particular to a NIC: the MAC and link come from what the
 * driver told its framework, no driver statistics.
 */
export function userDriverVariant(driver: LoadedDriverModule): VariantFactory {
  return (ctx) => {
    switch (driver.framework) {
      case 'ndis6':
        return startNdis6(ctx, driver);
      case 'ndis5':
        return startNdis5(ctx, driver);
      case 'kmdf':
        return startKmdf(ctx, driver);
    }
  };
}

function entryContext(ctx: VariantContext, onLink: (link: NicLinkState) => void = () => undefined, onMac: (mac: string) => void = () => undefined): DriverEntryContext {
  return {
    settings: { ...ctx.settings },
    device: ctx.machine.nic.model,
    memory: ctx.machine.memory,
    dma: ctx.machine.dma,
    indicateLink: onLink,
    setMacAddress: onMac,
  };
}

function formatMac(bytes: Uint8Array | undefined): string | undefined {
  if (!bytes || bytes.length !== 6) return undefined;
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

function returned(source: string, what: string, value: unknown): DriverModuleError {
  const got = value === null || value === undefined ? String(value) : typeof value === 'object' ? `a ${value.constructor.name}` : typeof value;
  return new DriverModuleError(`${source}: driverEntry returned ${got}, not ${what}`, { driver: source, key: 'driverEntry' });
}

/** ISR calls of the interrupt objects connected on the NIC's line, kept once they are disconnected. */
function isrCounter(kernel: Kernel, line: number): () => number {
  const seen = new Map<object, number>();
  return () => {
    for (const i of kernel.connectedInterrupts) if (i.line === line) seen.set(i, i.calls);
    let n = 0;
    for (const c of seen.values()) n += c;
    return n;
  };
}

async function startNdis6(ctx: VariantContext, driver: Ndis6DriverModule & LoadedDriverModule): Promise<RunningVariant> {
  const { kernel, machine } = ctx;
  const ndis = new Ndis6(kernel);
  const handle: unknown = await driver.driverEntry(ndis, entryContext(ctx));
  if (!(handle instanceof MiniportDriver)) throw returned(driver.source, 'the MiniportDriver of ndis.registerMiniportDriver', handle);
  const edge = new Ndis6ProtocolEdge(ndis, ndisEdgeOptions(ctx));
  const adapter = await initializeWithEdge(edge, () => ndis.initializeMiniport(handle, nicAdapterResources(machine, driver.registerName), { binding: edge }));
  edge.bind(adapter);
  const isr = isrCounter(kernel, machine.nic.irqLine);
  return edgeVariant({
    framework: 'ndis6',
    kernel,
    edge,
    mac: () => formatMac(adapter.generalAttributes?.currentMacAddress) ?? machine.nic.mac,
    link() {
      const ls = adapter.linkState;
      return {
        up: ls.mediaConnectState === MediaConnectState.Connected,
        speedMbps: ls.xmitLinkSpeed === NDIS_LINK_SPEED_UNKNOWN ? 0 : ls.xmitLinkSpeed / 1e6,
        fullDuplex: ls.mediaDuplexState === MediaDuplexState.Full,
      };
    },
    haltDriver: () => ndis.haltMiniport(adapter),
    surpriseRemoveDriver: () => ndis.surpriseRemoveMiniport(adapter),
    pnpCalls: () => ndis.pnpCalls,
    async close() {
      await edge.close();
      if (!kernel.stopped && adapter.halted) ndis.deregisterMiniportDriver(handle);
    },
    frameworkStatistics: () => ({
      ndis: { ...adapter.statistics, state: adapter.state, sendsOutstanding: adapter.sendsOutstanding, receivesOutstanding: adapter.receivesOutstanding },
      upperEdge: edge.counters,
    }),
    calls: () => ({ isr: isr(), dpc: adapter.statistics.interruptDpcs }),
  });
}

async function startNdis5(ctx: VariantContext, driver: Ndis5DriverModule & LoadedDriverModule): Promise<RunningVariant> {
  const { kernel, machine } = ctx;
  const ndis = new Ndis5(kernel);
  const handle: unknown = await driver.driverEntry(ndis, entryContext(ctx));
  if (!(handle instanceof Ndis5Driver)) throw returned(driver.source, 'the Ndis5Driver of ndis.registerMiniport', handle);
  const edge = new Ndis5ProtocolEdge(ndis, ndisEdgeOptions(ctx));
  const adapter = await initializeWithEdge(edge, () => ndis.initializeMiniport(handle, nicAdapterResources(machine, driver.registerName), { binding: edge }));
  try {
    await edge.bind(adapter);
  } catch (err) {
    await edge.stop();
    await ndis.haltMiniport(adapter).catch((e: unknown) => log.warn({ err: e }, 'halt after a failed bind failed too'));
    throw err;
  }
  let mac = machine.nic.mac;
  try {
    mac = formatMac(await ndis.queryInformation<Uint8Array>(adapter, Oid['802_3_CURRENT_ADDRESS'])) ?? mac;
  } catch (err) {
    log.debug({ err }, 'OID_802_3_CURRENT_ADDRESS failed: the MAC is the one QEMU was given');
  }
  const isr = isrCounter(kernel, machine.nic.irqLine);
  return edgeVariant({
    framework: 'ndis5',
    kernel,
    edge,
    mac: () => mac,
    haltDriver: () => ndis.haltMiniport(adapter),
    surpriseRemoveDriver: () => ndis.surpriseRemoveMiniport(adapter),
    pnpCalls: () => ndis.pnpCalls,
    close: () => edge.close(),
    frameworkStatistics: () => ({
      ndis: { ...adapter.statistics, state: adapter.state, sendsOutstanding: adapter.sendsOutstanding, packetsOutstanding: adapter.packetsOutstanding },
      upperEdge: edge.counters,
    }),
    calls: () => ({ isr: isr(), dpc: adapter.statistics.handleInterruptCalls }),
  });
}

async function startKmdf(ctx: VariantContext, driver: KmdfDriverModule & LoadedDriverModule): Promise<RunningVariant> {
  const { kernel, machine, settings } = ctx;
  const wdf = new WdfFramework(kernel, { name: machine.nic.model.qemuModel });
  let link: NicLinkState | undefined;
  let mac = machine.nic.mac;
  const io = new KmdfIoEdge(wdf, {
    rxRing: ctx.rxRing,
    txRing: ctx.txRing,
    writesInFlight: settings.sendPoolSize,
    writeBatch: settings.sendBatch,
    onPublish: ctx.onReceivePublished,
    ...(ctx.tap ? { tap: ctx.tap } : {}),
    ...(ctx.handOuts ? { handOuts: ctx.handOuts } : {}),
    ...(ctx.readHandOuts ? { readHandOuts: ctx.readHandOuts } : {}),
  });
  const entry = entryContext(
    ctx,
    (l) => {
      link = { ...l };
      io.linkChanged(l.up, l.speedMbps * 1_000_000, l.fullDuplex);
    },
    (m) => (mac = m),
  );
  const registers = machine.nic.registers;
  let device;
  try {
    await wdf.loadDriver((w) => driver.driverEntry(w, entry));
    device = await wdf.addDevice();
  } catch (err) {
    await io.close().catch(() => undefined);
    throw err;
  }
  try {
    await wdf.startDevice(
      {
        memory: [
          {
            registers,
            start: registers.base,
            length: registers.size,
            name: `${machine.nic.model.qemuModel} BAR${machine.nic.model.registerBar}`,
            ...(driver.registerName ? { registerName: driver.registerName } : {}),
          },
        ],
        interrupts: [{ line: machine.nic.irqLine }],
      },
      device,
    );
  } catch (err) {
    await wdf.removeDevice(device).catch((e: unknown) => log.warn({ err: e }, 'removing the device after a failed start failed too'));
    await io.close().catch(() => undefined);
    throw err;
  }
  io.start(device, link?.up ?? false);
  const isr = isrCounter(kernel, machine.nic.irqLine);
  return edgeVariant({
    framework: 'kmdf',
    kernel,
    edge: io,
    mac: () => mac,
    link: () => link ?? { up: io.linkUp, speedMbps: 0, fullDuplex: false },
    haltDriver: () => wdf.stopDevice(device),
    surpriseRemoveDriver: () => wdf.surpriseRemoveDevice(device),
    pnpCalls: () => wdf.pnpCalls,
    close: kmdfClose(kernel, wdf, io, log),
    frameworkStatistics: () => ({
      wdf: { deviceState: wdf.deviceState(device), requestPool: wdf.requestPool },
      upperEdge: { ...io.counters, readsOutstanding: io.readsOutstanding },
    }),
    // KMDF keeps no count of EvtInterruptDpc calls; a user driver's DPCs are not counted here.
    calls: () => ({ isr: isr(), dpc: 0 }),
  });
}
