/** NDIS 6.x facade: what an NDIS 6 miniport calls (`Ndis6Library`), and the host side of NDIS that calls it (`Ndis6`). */
export { Ndis6, type InitializeMiniportOptions, type OidRequestInput } from './ndis6.ts';
export type { Ndis6Library } from './library.ts';
export type { Ndis6Options } from './api-core.ts';
export type { PoolExhaustedEvent } from './api-nbl.ts';
export { MiniportAdapter, type MiniportAdapterState, type MiniportAdapterStatistics } from './adapter.ts';
export { MiniportDriver } from './driver.ts';
export { NdisInterrupt } from './interrupt.ts';
export {
  NetBuffer,
  NetBufferList,
  NetBufferListPool,
  chainNetBufferLists,
  countNetBufferLists,
  netBufferListArray,
  type NblOwner,
  type NetBufferListPoolOptions,
} from './net-buffer-list.ts';
export * from './types.ts';
export * from '../common/index.ts';
