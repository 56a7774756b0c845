import type { NdisDevicePnPEventValue } from '../common/pnp.ts';
import type { NDIS_STATUS } from '../common/status.ts';
import type { AdapterResources, MiniportAllocatedResources } from '../ndis6/types.ts';
import type { Ndis5Adapter } from './adapter.ts';
import type { NdisPacket } from './packet.ts';

type Awaitable<T> = T | Promise<T>;

export type { AdapterResources, MiniportAllocatedResources };

/** NDIS_ATTRIBUTE_* flags of NdisMSetAttributesEx. */
export const NdisAttribute = {
  IGNORE_PACKET_TIMEOUT: 0x00000001,
  IGNORE_REQUEST_TIMEOUT: 0x00000002,
  BUS_MASTER: 0x00000008,
  INTERMEDIATE_DRIVER: 0x00000010,
  /** Deserialized miniport: it completes every send with NdisMSendComplete. */
  DESERIALIZE: 0x00000020,
  NO_HALT_ON_SUSPEND: 0x00000040,
  SURPRISE_REMOVE_OK: 0x00000080,
} as const;

/** NDIS_INTERRUPT_MODE. */
export const NdisInterruptMode = { LevelSensitive: 0, Latched: 1 } as const;

/** What MiniportInitialize sees (its WrapperConfigurationContext and resources, already mapped). */
export interface MiniportInitParameters5 {
  readonly allocatedResources: MiniportAllocatedResources;
}

/** What MiniportISR returns: its two out parameters. */
export interface MiniportIsrResult {
  /** InterruptRecognized: the NIC interrupted (and MiniportISR dismissed it). */
  interruptRecognized: boolean;
  /** QueueMiniportHandleInterrupt: run MiniportHandleInterrupt (only honoured with InterruptRecognized). */
  queueMiniportHandleInterrupt: boolean;
}

/** The information request of MiniportQueryInformation / MiniportSetInformation (JS values, see common/oids.ts). */
export interface NdisInformationRequest {
  readonly oid: number;
  informationBuffer: unknown;
  informationBufferLength: number;
  bytesWritten: number;
  bytesRead: number;
  bytesNeeded: number;
}

/** NDIS51_MINIPORT_CHARACTERISTICS given to NdisMRegisterMiniport. */
export interface Ndis5MiniportCharacteristics {
  /** MajorNdisVersion: 5. */
  majorNdisVersion?: number;
  /** MinorNdisVersion: 0 or 1. */
  minorNdisVersion?: number;
  name?: string;
  /** MiniportInitialize (PASSIVE_LEVEL). Must call NdisMSetAttributesEx. */
  initializeHandler: (miniportAdapterHandle: Ndis5Adapter, parameters: MiniportInitParameters5) => Awaitable<NDIS_STATUS>;
  /** MiniportHalt (PASSIVE_LEVEL). Must call NdisMDeregisterInterrupt. */
  haltHandler: (miniportAdapterContext: unknown) => Awaitable<void>;
  /** MiniportISR (DIRQL). Required with RequestIsr or a shared line. */
  isrHandler?: (miniportAdapterContext: unknown) => Awaitable<MiniportIsrResult>;
  /** MiniportHandleInterrupt (DISPATCH_LEVEL): the deferred part. Required if the NIC interrupts. */
  handleInterruptHandler?: (miniportAdapterContext: unknown) => Awaitable<void>;
  /** MiniportDisableInterrupt (DIRQL): masks the NIC's interrupts (used without RequestIsr). */
  disableInterruptHandler?: (miniportAdapterContext: unknown) => Awaitable<void>;
  /** MiniportEnableInterrupt: NDIS calls it, synchronized with the ISR, after MiniportHandleInterrupt. */
  enableInterruptHandler?: (miniportAdapterContext: unknown) => Awaitable<void>;
  /** MiniportSendPackets (DISPATCH_LEVEL). */
  sendPacketsHandler: (miniportAdapterContext: unknown, packetArray: readonly NdisPacket[], numberOfPackets: number) => Awaitable<void>;
  /** MiniportReturnPacket (DISPATCH_LEVEL): a packet indicated with status SUCCESS comes back. */
  returnPacketHandler?: (miniportAdapterContext: unknown, packet: NdisPacket) => Awaitable<void>;
  /** MiniportQueryInformation (DISPATCH_LEVEL). NDIS_STATUS_PENDING: NdisMQueryInformationComplete. */
  queryInformationHandler: (miniportAdapterContext: unknown, request: NdisInformationRequest) => Awaitable<NDIS_STATUS>;
  /** MiniportSetInformation (DISPATCH_LEVEL). NDIS_STATUS_PENDING: NdisMSetInformationComplete. */
  setInformationHandler: (miniportAdapterContext: unknown, request: NdisInformationRequest) => Awaitable<NDIS_STATUS>;
  /**
   * MiniportPnPEventNotify (NDIS 5.1, PASSIVE_LEVEL): e.g. NdisDevicePnPEventSurpriseRemoved before
   * MiniportHalt.
   */
  pnpEventNotifyHandler?: (miniportAdapterContext: unknown, pnpEvent: NdisDevicePnPEventValue, informationBuffer: unknown, informationBufferLength: number) => Awaitable<void>;
  /** MiniportShutdown. */
  shutdownHandler?: (miniportAdapterContext: unknown) => Awaitable<void>;
}

/** NdisMRegisterInterrupt's parameters. */
export interface RegisterInterruptOptions {
  /** InterruptVector: the line; default the adapter's resource. */
  line?: number;
  /** InterruptLevel: the DIRQL; default the adapter's resource. */
  level?: number;
  /** RequestIsr: call MiniportISR on every interrupt (else NDIS calls MiniportDisableInterrupt). */
  requestIsr: boolean;
  /** SharedInterrupt: the line is shared; MiniportISR is then always used. */
  sharedInterrupt: boolean;
  /** InterruptMode: PCI INTx is LevelSensitive. */
  interruptMode?: (typeof NdisInterruptMode)[keyof typeof NdisInterruptMode];
}

/** The protocol side bound to an NDIS 5 adapter (ProtocolReceivePacket, ProtocolSendComplete, ProtocolStatus). */
export interface ProtocolBinding5 {
  /**
   * ProtocolReceivePacket for each packet of an NdisMIndicateReceivePacket. A packet whose status is
   * NDIS_STATUS_RESOURCES is the miniport's again when this returns; any other the binding keeps until
   * ndis.returnPacket().
   */
  receivePackets(packets: readonly NdisPacket[], count: number, adapter: Ndis5Adapter): void | Promise<void>;
  /** ProtocolSendComplete. */
  sendComplete(packet: NdisPacket, status: NDIS_STATUS, adapter: Ndis5Adapter): void;
  /** ProtocolStatus. */
  status(generalStatus: NDIS_STATUS, statusBuffer: unknown, adapter: Ndis5Adapter): void;
  /** ProtocolStatusComplete. */
  statusComplete(adapter: Ndis5Adapter): void;
}
