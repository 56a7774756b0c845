/** NDIS 5.x facade: what an NDIS 5.1 miniport calls, and the host side of NDIS that calls it. */
export { Ndis5, type SetAttributesExOptions, type PacketPoolExhaustedEvent } from './ndis5.ts';
export { Ndis5Adapter, Ndis5Driver, NdisMiniportInterrupt, type Ndis5AdapterState, type Ndis5AdapterStatistics } from './adapter.ts';
export { NdisPacket, NdisPacketPool, type PacketOwner, type NdisPacketPoolOptions } from './packet.ts';
export * from './types.ts';
export * from '../common/index.ts';
