import { E1000Ndis6Adapter, registerE1000Ndis6 } from '../../drivers/e1000/ndis6/index.ts';
import { Ndis6 } from '../../ndis/ndis6/index.ts';
import { Ndis6ProtocolEdge } from '../../upper-edge/index.ts';
import { logger } from '../../util/log.ts';
import { coreSettings, ndisAdapterResources } from './machine-resources.ts';
import { runningVariant } from './running-variant.ts';
import type { RunningVariant, VariantContext } from './variant.ts';
import { initializeWithEdge, ndisEdgeOptions } from './ndis-edge.ts';

const log = logger('host.ndis6');

/**
 * The NDIS 6 e1000 miniport on the NDIS 6 facade, with the NDIS 6 upper edge bound as its protocol:
 * NdisMRegisterMiniportDriver, then initialize (MiniportInitializeEx + MiniportRestart), then the
 * protocol starts taking frames from the TX ring.
 */
export async function startVariant(ctx: VariantContext): Promise<RunningVariant> {
  const { kernel, machine, settings } = ctx;
  const ndis = new Ndis6(kernel);
  const driver = registerE1000Ndis6(ndis, coreSettings(settings));
  const edge = new Ndis6ProtocolEdge(ndis, ndisEdgeOptions(ctx));
  const adapter = await initializeWithEdge(edge, () => ndis.initializeMiniport(driver, ndisAdapterResources(machine), { binding: edge }));
  const miniport = adapter.context as E1000Ndis6Adapter;
  edge.bind(adapter);
  return runningVariant({
    framework: 'ndis6',
    kernel,
    core: miniport.core,
    exposeCore: true,
    edge,
    log,
    words: { halted: 'the adapter is halted', halting: 'halting' },
    haltDriver: () => ndis.haltMiniport(adapter),
    surpriseRemoveDriver: () => ndis.surpriseRemoveMiniport(adapter),
    pnpCalls: () => ndis.pnpCalls,
    async close() {
      await edge.close();
      if (!kernel.stopped && adapter.halted) ndis.deregisterMiniportDriver(driver);
    },
    frameworkStatistics: () => ({
      ndis: { ...adapter.statistics, state: adapter.state, sendsOutstanding: adapter.sendsOutstanding, receivesOutstanding: adapter.receivesOutstanding },
      miniport: { ...miniport.counters },
      upperEdge: edge.counters,
    }),
    calls() {
      const c = miniport.core.counters;
      return { isr: c.isrCalls, dpc: c.dpcCalls, dpcWithoutIsr: c.dpcQueuedWithoutIsr };
    },
  });
}
