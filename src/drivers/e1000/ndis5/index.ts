/** The NDIS 5.1 e1000 miniport: NDIS 5 handlers over the framework-neutral core. */
export { registerE1000Ndis5, type E1000Ndis5Options } from './driver.ts';
export { E1000Ndis5Adapter, type Ndis5InterruptMode, type Ndis5MiniportCounters } from './adapter-context.ts';
export { NdisMediaState, SUPPORTED_OIDS_5, SUPPORTED_PACKET_FILTERS, linkSpeed100bps, packetFilterBits, queryInformation, setInformation } from './oid.ts';
export { InFlightQueue } from './packet-queue.ts';
