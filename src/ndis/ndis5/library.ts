import type { NdisLibraryMember } from '../common/library.ts';
import type { Ndis5 } from './ndis5.ts';

/**
 * The NDIS 5 library as a miniport sees it: the NdisM* / Ndis* calls it makes (api-core.ts,
 * api-interrupt.ts, api-packet.ts, api-indicate.ts, and the calls both versions share), and nothing
 * of the host side that plays NDIS towards it (initializeMiniport, haltMiniport, sendPackets,
 * queryInformation, …). A miniport takes and keeps this type, so that calling the host side from
 * driver code is a compile error; the host hands it the whole `Ndis5`.
 */
export type Ndis5Library = Pick<
  Ndis5,
  | NdisLibraryMember
  // api-core.ts
  | 'registerMiniport'
  | 'setAttributesEx'
  | 'initializeTimer'
  | 'setTimer'
  | 'setPeriodicTimer'
  | 'cancelTimer'
  | 'getSystemUpTime'
  // api-interrupt.ts
  | 'registerInterrupt'
  | 'deregisterInterrupt'
  | 'synchronizeWithInterrupt'
  // api-packet.ts
  | 'allocatePacketPool'
  | 'freePacketPool'
  | 'allocatePacket'
  | 'freePacket'
  // api-indicate.ts
  | 'indicateReceivePacket'
  | 'sendComplete'
  | 'indicateStatus'
  | 'indicateStatusComplete'
  | 'queryInformationComplete'
  | 'setInformationComplete'
>;
