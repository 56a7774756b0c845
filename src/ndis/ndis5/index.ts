/** NDIS 5.x facade: what an NDIS 5.1 miniport calls (`Ndis5Library`), and the host side of NDIS that calls it (`Ndis5`). */
export { Ndis5 } from './ndis5.ts';
export type { Ndis5Library } from './library.ts';
export type { SetAttributesExOptions } from './api-core.ts';
export type { PacketPoolExhaustedEvent } from './api-packet.ts';
export { Ndis5Adapter, Ndis5Driver, NdisMiniportInterrupt, type Ndis5AdapterState, type Ndis5AdapterStatistics } from './adapter.ts';
export { NdisPacket, NdisPacketPool, type PacketOwner, type NdisPacketPoolOptions } from './packet.ts';
export * from './types.ts';
export * from '../common/index.ts';
