import type { DeviceRegisters, RegisterBackend } from '../../kernel/index.ts';
import type { NDIS_STATUS } from '../common/status.ts';
import type { NdisLinkState, NdisRequestTypeValue } from '../common/oids.ts';
import type { NetDevicePnPEvent } from '../common/pnp.ts';
import type { NetBufferList } from './net-buffer-list.ts';
import type { MiniportAdapter } from './adapter.ts';
import type { NdisInterrupt } from './interrupt.ts';

type Awaitable<T> = T | Promise<T>;

/** NDIS_HANDLE for the MiniportAdapterContext the driver gives in its registration attributes. */
export type MiniportAdapterContext = unknown;

/** NDIS_HALT_ACTION. */
export const NdisHaltAction = {
  DeviceDisabled: 0,
  DeviceInstanceDeInitialized: 1,
  DevicePoweredDown: 2,
  DeviceSurpriseRemoved: 3,
  DeviceFailed: 4,
  DeviceInitializationFailed: 5,
  DeviceStopped: 6,
} as const;
export type NdisHaltActionValue = (typeof NdisHaltAction)[keyof typeof NdisHaltAction];

/** NDIS_SHUTDOWN_ACTION. */
export const NdisShutdownAction = {
  PowerOff: 0,
  BugCheck: 1,
} as const;
export type NdisShutdownActionValue = (typeof NdisShutdownAction)[keyof typeof NdisShutdownAction];

/** NDIS_RECEIVE_FLAGS_*. */
export const NdisReceiveFlags = {
  DISPATCH_LEVEL: 0x00000001,
  /** The NBLs are the miniport's again when NdisMIndicateReceiveNetBufferLists returns. */
  RESOURCES: 0x00000002,
  SINGLE_ETHER_TYPE: 0x00000100,
  SINGLE_VLAN: 0x00000200,
  PERFECT_FILTERED: 0x00000400,
  SINGLE_QUEUE: 0x00000800,
  SHARED_MEMORY_INFO_VALID: 0x00001000,
  MORE_NBLS: 0x00002000,
} as const;
export const NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL = NdisReceiveFlags.DISPATCH_LEVEL;
export const NDIS_RECEIVE_FLAGS_RESOURCES = NdisReceiveFlags.RESOURCES;

/** NDIS_RETURN_FLAGS_*. */
export const NdisReturnFlags = { DISPATCH_LEVEL: 0x00000001, SINGLE_QUEUE: 0x00000002 } as const;
/** NDIS_SEND_FLAGS_*. */
export const NdisSendFlags = { DISPATCH_LEVEL: 0x00000001, CHECK_FOR_LOOPBACK: 0x00000002, SINGLE_QUEUE: 0x00000004 } as const;
/** NDIS_SEND_COMPLETE_FLAGS_*. */
export const NdisSendCompleteFlags = { DISPATCH_LEVEL: 0x00000001, SINGLE_QUEUE: 0x00000002 } as const;
export const NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL = NdisSendCompleteFlags.DISPATCH_LEVEL;
export const NDIS_DEFAULT_PORT_NUMBER = 0;
/** NDIS_INDICATE_ALL_NBLS: MaxNblsToIndicate without a limit. */
export const NDIS_INDICATE_ALL_NBLS = 0xffffffff;

/** What the host hands NDIS for one adapter (the PnP resources of the PCI function). */
export interface AdapterResources {
  /** BAR0, as the platform exposes it (machine.nic.registers or a fake). NDIS maps it as DeviceRegisters. */
  registers: RegisterBackend;
  /** Register names for the kernel trace ("ICR" for 0xC0). */
  registerName?: (offset: number) => string | undefined;
  /** The interrupt resource. */
  interrupt: {
    /** The INTx line (machine.nic.irqLine). */
    line: number;
    /** DIRQL; default the kernel's DEFAULT_DIRQL. */
    irql?: number;
    /** Affinity; default all processors. */
    processors?: readonly number[];
    /** Whether other devices may share the line. Default true (PCI INTx). */
    shared?: boolean;
  };
  /** Guest memory and DMA allocator (machine.memory / machine.dma); NDIS passes them through. */
  memory?: unknown;
  dma?: unknown;
  /** The permanent MAC address if the platform knows it (machine.nic.mac). */
  macAddress?: string;
  /** Shown in traces and reports; default "adapter<N>". */
  name?: string;
}

/** The resources MiniportInitialize(Ex) finds already mapped (NDIS 6 and NDIS 5 alike). */
export interface MiniportAllocatedResources {
  readonly registers: DeviceRegisters;
  readonly interruptLine: number;
  readonly interruptIrql: number;
  readonly memory: unknown;
  readonly dma: unknown;
  readonly macAddress: string | undefined;
}

/**
 * NDIS_MINIPORT_INIT_PARAMETERS as MiniportInitializeEx sees them. AllocatedResources is already
 * mapped: `registers` is what NdisMMapIoSpace would return.
 */
export interface MiniportInitParameters {
  readonly allocatedResources: MiniportAllocatedResources;
  readonly ifIndex: number;
  readonly netLuid: number;
}

/** NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES (set first, in MiniportInitializeEx). */
export interface MiniportAdapterRegistrationAttributes {
  readonly type: 'registration';
  /** MiniportAdapterContext: NDIS passes it to every MiniportXxx handler of the adapter. */
  miniportAdapterContext: MiniportAdapterContext;
  /** NDIS_MINIPORT_ATTRIBUTES_* flags. */
  attributeFlags?: number;
  checkForHangTimeInSeconds?: number;
  interfaceType?: number;
}

/** NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES (set second). */
export interface MiniportAdapterGeneralAttributes {
  readonly type: 'general';
  mtuSize: number;
  maxXmitLinkSpeed: number;
  maxRcvLinkSpeed: number;
  xmitLinkSpeed: number;
  rcvLinkSpeed: number;
  mediaConnectState: NdisLinkState['mediaConnectState'];
  mediaDuplexState: NdisLinkState['mediaDuplexState'];
  lookaheadSize?: number;
  macOptions?: number;
  supportedPacketFilters: number;
  maxMulticastListSize: number;
  permanentMacAddress: Uint8Array;
  currentMacAddress: Uint8Array;
  supportedStatistics?: number;
  supportedOidList?: readonly number[];
  /** NdisInterruptModeration* value the adapter starts with. */
  interruptModeration?: number;
}

export type MiniportAdapterAttributes = MiniportAdapterRegistrationAttributes | MiniportAdapterGeneralAttributes;

/**
 * NDIS_OID_REQUEST. dirql carries JavaScript values: a set request brings its value in
 * `informationBuffer`; a query puts its answer there (types per OID in common/oids.ts).
 */
export interface NdisOidRequest {
  readonly requestType: NdisRequestTypeValue;
  readonly oid: number;
  readonly portNumber: number;
  informationBuffer: unknown;
  /** InformationBufferLength: the caller's space for a query, the value's size for a set. 0: unknown. */
  informationBufferLength: number;
  bytesWritten: number;
  bytesRead: number;
  bytesNeeded: number;
  /** RequestId. */
  readonly requestId: number;
}

/** NDIS_STATUS_INDICATION given to NdisMIndicateStatusEx. */
export interface NdisStatusIndication {
  /** SourceHandle: the MiniportAdapterHandle. Default the adapter the call names. */
  sourceHandle?: MiniportAdapter;
  portNumber?: number;
  statusCode: NDIS_STATUS;
  /** StatusBuffer: NdisLinkState for NDIS_STATUS_LINK_STATE. */
  buffer?: unknown;
}

/** NDIS_RECEIVE_THROTTLE_PARAMETERS given to MiniportInterruptDPC (NDIS 6.20). */
export interface NdisReceiveThrottleParameters {
  /** How many NBLs the DPC may indicate this time (NDIS_INDICATE_ALL_NBLS: no limit). */
  maxNblsToIndicate: number;
  /** Set by the DPC when it stopped with receives left: NDIS queues the DPC again. */
  moreNblsPending: boolean;
}

/** What MiniportInterrupt returns (its BOOLEAN plus the two out parameters). */
export interface MiniportInterruptResult {
  /** The return value: the interrupt was this NIC's and it dismissed it. */
  recognized: boolean;
  /** QueueDefaultInterruptDpc: queue MiniportInterruptDPC on the current processor. */
  queueDefaultDpc: boolean;
  /** TargetProcessors: bitmask of further processors to queue MiniportInterruptDPC on (0: none). */
  targetProcessors?: number;
}

/** NDIS_MINIPORT_INTERRUPT_CHARACTERISTICS given to NdisMRegisterInterruptEx. */
export interface MiniportInterruptCharacteristics {
  /** MiniportInterrupt (DIRQL). */
  interruptHandler: (interruptContext: unknown) => Awaitable<MiniportInterruptResult>;
  /**
   * MiniportInterruptDPC (DISPATCH_LEVEL). `miniportDpcContext` is what NdisMQueueDpcEx was given
   * (undefined for the DPC MiniportInterrupt requested); NDIS 6.20 passes it in a reserved parameter.
   */
  interruptDpcHandler: (interruptContext: unknown, messageId: number, receiveThrottleParameters: NdisReceiveThrottleParameters, miniportDpcContext: unknown) => Awaitable<void>;
  /** MiniportDisableInterruptEx (DIRQL). */
  disableInterruptHandler?: (interruptContext: unknown) => Awaitable<void>;
  /** MiniportEnableInterruptEx (DIRQL). */
  enableInterruptHandler?: (interruptContext: unknown) => Awaitable<void>;
  /** NDIS_MINIPORT_INTERRUPT_TYPE: only line-based (NdisMiniportInterruptLineBased) here. */
  interruptType?: 'line';
}

/** NDIS_MINIPORT_PAUSE_PARAMETERS. */
export interface MiniportPauseParameters {
  flags: number;
  pauseReason: number;
}

/** NDIS_MINIPORT_RESTART_PARAMETERS. */
export interface MiniportRestartParameters {
  flags: number;
}

/** NDIS_MINIPORT_DRIVER_CHARACTERISTICS given to NdisMRegisterMiniportDriver. */
export interface MiniportDriverCharacteristics {
  /** MajorNdisVersion: 6. */
  majorNdisVersion?: number;
  /** MinorNdisVersion: 0..86. Default 20 (receive throttling). */
  minorNdisVersion?: number;
  /** Shown in traces and reports. */
  name?: string;
  /** MiniportInitializeEx (PASSIVE_LEVEL). Must call NdisMSetMiniportAttributes. */
  initializeHandlerEx: (miniportAdapterHandle: MiniportAdapter, miniportDriverContext: unknown, initParameters: MiniportInitParameters) => Awaitable<NDIS_STATUS>;
  /** MiniportHaltEx (PASSIVE_LEVEL). Must deregister its interrupt and free what it allocated. */
  haltHandlerEx: (miniportAdapterContext: MiniportAdapterContext, haltAction: NdisHaltActionValue) => Awaitable<void>;
  /** MiniportSendNetBufferLists (<= DISPATCH_LEVEL; dirql calls it at DISPATCH_LEVEL). */
  sendNetBufferListsHandler: (miniportAdapterContext: MiniportAdapterContext, netBufferLists: NetBufferList, portNumber: number, sendFlags: number) => Awaitable<void>;
  /** MiniportReturnNetBufferLists (<= DISPATCH_LEVEL): receive NBLs coming back from the protocol. */
  returnNetBufferListsHandler: (miniportAdapterContext: MiniportAdapterContext, netBufferLists: NetBufferList, returnFlags: number) => Awaitable<void>;
  /** MiniportOidRequest (dirql calls it at PASSIVE_LEVEL). NDIS_STATUS_PENDING: complete with NdisMOidRequestComplete. */
  oidRequestHandler: (miniportAdapterContext: MiniportAdapterContext, oidRequest: NdisOidRequest) => Awaitable<NDIS_STATUS>;
  /** MiniportPause (PASSIVE_LEVEL). NDIS_STATUS_PENDING: complete with NdisMPauseComplete. */
  pauseHandler?: (miniportAdapterContext: MiniportAdapterContext, pauseParameters: MiniportPauseParameters) => Awaitable<NDIS_STATUS>;
  /** MiniportRestart (PASSIVE_LEVEL). NDIS_STATUS_PENDING: complete with NdisMRestartComplete. */
  restartHandler?: (miniportAdapterContext: MiniportAdapterContext, restartParameters: MiniportRestartParameters) => Awaitable<NDIS_STATUS>;
  /** MiniportDevicePnPEventNotify (PASSIVE_LEVEL): e.g. NdisDevicePnPEventSurpriseRemoved before MiniportHaltEx. */
  devicePnPEventNotifyHandler?: (miniportAdapterContext: MiniportAdapterContext, netDevicePnPEvent: NetDevicePnPEvent) => Awaitable<void>;
  /** MiniportShutdownEx. */
  shutdownHandlerEx?: (miniportAdapterContext: MiniportAdapterContext, shutdownAction: NdisShutdownActionValue) => Awaitable<void>;
  /** MiniportCancelSend (<= DISPATCH_LEVEL). */
  cancelSendHandler?: (miniportAdapterContext: MiniportAdapterContext, cancelId: unknown) => Awaitable<void>;
  /** MiniportCheckForHangEx (PASSIVE_LEVEL... documented <= DISPATCH_LEVEL); dirql calls it on request only. */
  checkForHangHandlerEx?: (miniportAdapterContext: MiniportAdapterContext) => Awaitable<boolean>;
}

/**
 * The protocol side ("upper edge") bound to an adapter: host code that receives what the miniport
 * indicates. Called in the miniport's context (same processor and IRQL): keep it short.
 */
export interface ProtocolBinding {
  /**
   * ProtocolReceiveNetBufferLists. Without NDIS_RECEIVE_FLAGS_RESOURCES the binding owns the chain
   * and gives it back later with ndis.returnNetBufferLists(); with it, the NBLs are the miniport's
   * again once this returns (or its promise settles): copy what you need first.
   */
  receiveNetBufferLists(netBufferLists: NetBufferList, count: number, receiveFlags: number, adapter: MiniportAdapter): void | Promise<void>;
  /** ProtocolSendNetBufferListsComplete: the chain is the binding's again (status in each NBL). */
  sendNetBufferListsComplete(netBufferLists: NetBufferList, sendCompleteFlags: number, adapter: MiniportAdapter): void;
  /** ProtocolStatusEx. */
  statusIndication(status: NdisStatusIndication, adapter: MiniportAdapter): void;
}

export type { NdisInterrupt };
