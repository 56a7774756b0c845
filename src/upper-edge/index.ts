/** The upper edge: the protocol side of the driver, moving frames between the driver and PacketRings. */
export { ReceivePath, type ReceivePathCounters } from './receive-path.ts';
export { TransmitPath, type HandOutLog, type TransmitPathCounters } from './transmit-path.ts';
export { Ndis6ProtocolEdge, type LinkEvent, type UpperEdgeCounters, type UpperEdgeOptions } from './ndis6-protocol.ts';
export type { UpperEdgeTap } from './tap.ts';
