import type { NdisEdgeOptions } from '../../upper-edge/ndis-edge-options.ts';
import type { VariantContext } from './variant.ts';

/** The upper edge's options for an NDIS variant: the host's rings, its send pool and batch, the RX wake. */
export function ndisEdgeOptions(ctx: VariantContext): NdisEdgeOptions {
  const { settings } = ctx;
  return {
    rxRing: ctx.rxRing,
    txRing: ctx.txRing,
    sendPoolSize: settings.sendPoolSize,
    sendBatch: settings.sendBatch,
    onPublish: ctx.onReceivePublished,
    ...(ctx.tap ? { tap: ctx.tap } : {}),
    ...(ctx.handOuts ? { handOuts: ctx.handOuts } : {}),
  };
}

/** MiniportInitialize(Ex) with the upper edge as the binding: if it fails, the edge gives its ring roles back. */
export async function initializeWithEdge<A>(edge: { close(): Promise<void> }, initialize: () => Promise<A>): Promise<A> {
  try {
    return await initialize();
  } catch (err) {
    await edge.close().catch(() => undefined);
    throw err;
  }
}
