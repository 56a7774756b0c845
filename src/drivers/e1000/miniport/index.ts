/** The framework-neutral e1000 miniport core: NDIS 6, NDIS 5 and KMDF variants are thin layers over it. */
export {
  BULK_TX_ITR,
  DEFAULT_RECEIVE_BUDGET,
  E1000Adapter,
  MAX_MULTICAST_ADDRESSES,
  MAX_SEND_LENGTH,
  MIN_SEND_LENGTH,
  type AdapterState,
  type AdapterStatistics,
  type E1000AdapterOptions,
  type PacketTypes,
} from './adapter.ts';
export { zeroCounters, type AdapterCounters } from './counters.ts';
export { MAX_RECEIVE_FRAME_LENGTH } from './receive-path.ts';
export { ISR_NOT_OURS, ISR_RECOGNIZED, type AdapterLock, type FrameSink, type IsrResult, type MiniportEdge, type ReceiveBatch, type SendOutcome } from './edge.ts';
export { SendQueue } from './send-queue.ts';
