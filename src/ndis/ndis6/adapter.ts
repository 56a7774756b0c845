import type { DeviceRegisters } from '../../kernel/index.ts';
import { NdisAdapterHandle } from '../common/adapter-handle.ts';
import { MediaConnectState, MediaDuplexState, NDIS_LINK_SPEED_UNKNOWN, type NdisLinkState } from '../common/oids.ts';
import type { NDIS_STATUS } from '../common/status.ts';
import type { MiniportDriver } from './driver.ts';
import type { NdisInterrupt } from './interrupt.ts';
import type { NetBufferListPool } from './net-buffer-list.ts';
import type {
  AdapterResources,
  MiniportAdapterContext,
  MiniportAdapterGeneralAttributes,
  MiniportAdapterRegistrationAttributes,
  NdisOidRequest,
  ProtocolBinding,
} from './types.ts';

/**
 * Miniport adapter states of NDIS 6 (Halted → Initializing → Paused ⇄ Running, with Pausing and
 * Restarting in between). NDIS only sends and expects receive indications in Running.
 */
export type MiniportAdapterState = 'initializing' | 'paused' | 'restarting' | 'running' | 'pausing' | 'halting' | 'halted';

/** What NDIS counted for the adapter (the protocol-facing side, not the NIC's counters). */
export interface MiniportAdapterStatistics {
  /** NBLs indicated up with NdisMIndicateReceiveNetBufferLists. */
  receivesIndicated: number;
  /** NBLs indicated while no protocol was bound (returned at once). */
  receivesDropped: number;
  /** NBLs returned to the miniport through MiniportReturnNetBufferLists. */
  receivesReturned: number;
  /** NBLs given to MiniportSendNetBufferLists. */
  sendsRequested: number;
  /** NBLs completed with NdisMSendNetBufferListsComplete, and those with a failure status. */
  sendsCompleted: number;
  sendsFailed: number;
  /** NBLs NDIS completed itself with NDIS_STATUS_PAUSED because the adapter was not running. */
  sendsRefusedPaused: number;
  statusIndications: number;
  interruptDpcs: number;
}

let nextAdapterId = 1;

/** NDIS_HANDLE MiniportAdapterHandle: NDIS' side of one adapter (the miniport block). */
export class MiniportAdapter extends NdisAdapterHandle<MiniportDriver, AdapterResources, MiniportAdapterState> {
  override state: MiniportAdapterState = 'initializing';
  registrationAttributes: MiniportAdapterRegistrationAttributes | null = null;
  generalAttributes: MiniportAdapterGeneralAttributes | null = null;
  interrupt: NdisInterrupt | null = null;
  binding: ProtocolBinding | null = null;
  /** Last link state the miniport indicated (or its general attributes gave). */
  linkState: NdisLinkState = {
    mediaConnectState: MediaConnectState.Unknown,
    mediaDuplexState: MediaDuplexState.Unknown,
    xmitLinkSpeed: NDIS_LINK_SPEED_UNKNOWN,
    rcvLinkSpeed: NDIS_LINK_SPEED_UNKNOWN,
  };
  /** NBLs in MiniportSendNetBufferLists and not completed yet. */
  sendsOutstanding = 0;
  /** NBLs indicated without NDIS_RECEIVE_FLAGS_RESOURCES and not returned yet. */
  receivesOutstanding = 0;
  readonly statistics: MiniportAdapterStatistics = {
    receivesIndicated: 0,
    receivesDropped: 0,
    receivesReturned: 0,
    sendsRequested: 0,
    sendsCompleted: 0,
    sendsFailed: 0,
    sendsRefusedPaused: 0,
    statusIndications: 0,
    interruptDpcs: 0,
  };
  /** NBL pools allocated with this adapter as owner (halt checks they were freed). */
  readonly pools = new Set<NetBufferListPool>();
  /** OID request the miniport returned NDIS_STATUS_PENDING for. */
  pendingOid: { request: NdisOidRequest; resolve: (status: NDIS_STATUS) => void } | null = null;
  pendingPause: ((status: NDIS_STATUS) => void) | null = null;
  pendingRestart: ((status: NDIS_STATUS) => void) | null = null;
  /** One OID request at a time reaches the miniport (NDIS serialises them). */
  oidChain: Promise<unknown> = Promise.resolve();
  /** Inside MiniportInitializeEx (NdisMSetMiniportAttributes is only valid there). */
  initializing = false;

  constructor(driver: MiniportDriver, resources: AdapterResources, registers: DeviceRegisters) {
    super(nextAdapterId++, driver, resources, registers);
  }

  /** MiniportAdapterContext the miniport registered (null before NdisMSetMiniportAttributes). */
  get context(): MiniportAdapterContext {
    return this.registrationAttributes?.miniportAdapterContext ?? null;
  }
}
