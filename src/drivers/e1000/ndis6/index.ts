/** The NDIS 6 e1000 miniport: NDIS 6 handlers over the framework-neutral core. */
export { registerE1000Ndis6, type E1000Ndis6Options } from './driver.ts';
export { E1000Ndis6Adapter, ndisLinkState, type Ndis6MiniportCounters } from './adapter-context.ts';
export { SUPPORTED_OIDS, SUPPORTED_PACKET_FILTERS, handleOidRequest, packetFilterBits } from './oid.ts';
