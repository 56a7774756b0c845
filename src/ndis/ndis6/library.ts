import type { NdisLibraryMember } from '../common/library.ts';
import type { Ndis6 } from './ndis6.ts';

/**
 * The NDIS 6 library as a miniport sees it: the Ndis* / NdisM* calls it makes (api-core.ts,
 * api-interrupt.ts, api-nbl.ts, api-indicate.ts, and the calls both versions share), and nothing of
 * the host side that plays NDIS towards it (initializeMiniport, pauseMiniport, oidRequest,
 * sendNetBufferLists, …). A miniport takes and keeps this type, so that calling the host side from
 * driver code is a compile error; the host hands it the whole `Ndis6`.
 */
export type Ndis6Library = Pick<
  Ndis6,
  | NdisLibraryMember
  // api-core.ts
  | 'registerMiniportDriver'
  | 'deregisterMiniportDriver'
  | 'setMiniportAttributes'
  | 'allocateTimerObject'
  | 'setTimerObject'
  | 'cancelTimerObject'
  | 'freeTimerObject'
  | 'getSystemUpTimeEx'
  // api-interrupt.ts
  | 'registerInterruptEx'
  | 'deregisterInterruptEx'
  | 'synchronizeWithInterruptEx'
  | 'queueDpcEx'
  // api-nbl.ts
  | 'allocateNetBufferListPool'
  | 'freeNetBufferListPool'
  | 'allocateNetBufferAndNetBufferList'
  | 'freeNetBufferList'
  // api-indicate.ts
  | 'indicateReceiveNetBufferLists'
  | 'sendNetBufferListsComplete'
  | 'indicateStatusEx'
  | 'oidRequestComplete'
  | 'pauseComplete'
  | 'restartComplete'
>;
