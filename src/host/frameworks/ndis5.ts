import { E1000Ndis5Adapter, registerE1000Ndis5, type Ndis5InterruptMode } from '../../drivers/e1000/ndis5/index.ts';
import { Ndis5 } from '../../ndis/ndis5/index.ts';
import { Ndis5ProtocolEdge } from '../../upper-edge/ndis5-protocol.ts';
import { logger } from '../../util/log.ts';
import { coreSettings, ndisAdapterResources } from './machine-resources.ts';
import { runningVariant } from './running-variant.ts';
import type { RunningVariant, VariantContext } from './variant.ts';
import { initializeWithEdge, ndisEdgeOptions } from './ndis-edge.ts';

const log = logger('host.ndis5');

export interface Ndis5VariantOptions {
  /** How the miniport registers its interrupt. Default 'isr' (RequestIsr + SharedInterrupt). */
  interruptMode?: Ndis5InterruptMode;
}

/**
 * The NDIS 5.1 e1000 miniport on the NDIS 5 facade, with the NDIS 5 upper edge bound as its
 * protocol: NdisMRegisterMiniport, MiniportInitialize, then the protocol reads the link state and
 * starts taking frames from the TX ring.
 */
export async function startNdis5Variant(ctx: VariantContext, opts: Ndis5VariantOptions = {}): Promise<RunningVariant> {
  const { kernel, machine, settings } = ctx;
  const ndis = new Ndis5(kernel);
  const driver = registerE1000Ndis5(ndis, { ...coreSettings(settings), interruptMode: opts.interruptMode });
  const edge = new Ndis5ProtocolEdge(ndis, ndisEdgeOptions(ctx));
  const adapter = await initializeWithEdge(edge, () => ndis.initializeMiniport(driver, ndisAdapterResources(machine), { binding: edge }));
  const miniport = adapter.context as E1000Ndis5Adapter;
  try {
    await edge.bind(adapter);
  } catch (err) {
    await edge.stop();
    await ndis.haltMiniport(adapter).catch((e: unknown) => log.warn({ err: e }, 'halt after a failed bind failed too'));
    throw err;
  }
  return runningVariant({
    framework: 'ndis5',
    kernel,
    core: miniport.core,
    exposeCore: false,
    edge,
    log,
    words: { halted: 'the adapter is halted', halting: 'halting' },
    haltDriver: () => ndis.haltMiniport(adapter),
    surpriseRemoveDriver: () => ndis.surpriseRemoveMiniport(adapter),
    pnpCalls: () => ndis.pnpCalls,
    close: () => edge.close(),
    frameworkStatistics: () => ({
      ndis: { ...adapter.statistics, state: adapter.state, sendsOutstanding: adapter.sendsOutstanding, packetsOutstanding: adapter.packetsOutstanding },
      miniport: { ...miniport.counters, interruptMode: miniport.interruptMode },
      upperEdge: edge.counters,
    }),
    calls: () => miniport.routineCalls,
  });
}

/** The framework registry's entry: the e1000 NDIS 5 variant in its default interrupt mode. */
export function startVariant(ctx: VariantContext): Promise<RunningVariant> {
  return startNdis5Variant(ctx);
}
