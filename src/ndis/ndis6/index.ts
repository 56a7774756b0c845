/** NDIS 6.x facade: what an NDIS 6 miniport calls, and the host side of NDIS that calls it. */
export { Ndis6, type Ndis6Options, type InitializeMiniportOptions, type OidRequestInput, type PoolExhaustedEvent } from './ndis6.ts';
export { MiniportAdapter, type MiniportAdapterState, type MiniportAdapterStatistics } from './adapter.ts';
export { MiniportDriver } from './driver.ts';
export { NdisInterrupt } from './interrupt.ts';
export {
  NetBuffer, NetBufferList, NetBufferListPool, chainNetBufferLists, countNetBufferLists, netBufferListArray,
  type NblOwner, type NetBufferListPoolOptions,
} from './net-buffer-list.ts';
export * from './types.ts';
export * from '../common/index.ts';
