import type { DeviceRegisters, Dpc, InterruptObject } from '../../kernel/index.ts';
import { NdisAdapterHandle } from '../common/adapter-handle.ts';
import type { NDIS_STATUS } from '../common/status.ts';
import type { AdapterResources, Ndis5MiniportCharacteristics, NdisInformationRequest, ProtocolBinding5 } from './types.ts';
import type { NdisPacketPool } from './packet.ts';

let nextDriverId = 1;

/** NDIS_HANDLE NdisWrapperHandle / the miniport driver registered with NdisMRegisterMiniport. */
export class Ndis5Driver {
  readonly id = nextDriverId++;
  readonly name: string;
  readonly characteristics: Readonly<Ndis5MiniportCharacteristics>;
  readonly adapters = new Set<Ndis5Adapter>();

  constructor(characteristics: Ndis5MiniportCharacteristics) {
    this.characteristics = Object.freeze({ ...characteristics });
    this.name = characteristics.name ?? `ndis5miniport${this.id}`;
  }
}

/** NDIS 5 adapters have no pause state: they run from MiniportInitialize until MiniportHalt. */
export type Ndis5AdapterState = 'initializing' | 'running' | 'halting' | 'halted';

export interface Ndis5AdapterStatistics {
  packetsIndicated: number;
  packetsReturned: number;
  packetsDropped: number;
  packetsSent: number;
  sendsCompleted: number;
  sendsFailed: number;
  statusIndications: number;
  handleInterruptCalls: number;
}

let nextAdapterId = 1;

/** NDIS_HANDLE MiniportAdapterHandle of an NDIS 5 miniport. */
export class Ndis5Adapter extends NdisAdapterHandle<Ndis5Driver, AdapterResources, Ndis5AdapterState> {
  override state: Ndis5AdapterState = 'initializing';
  /** MiniportAdapterContext given to NdisMSetAttributesEx. */
  context: unknown = null;
  attributesSet = false;
  attributeFlags = 0;
  checkForHangTimeInSeconds = 2;
  interrupt: NdisMiniportInterrupt | null = null;
  binding: ProtocolBinding5 | null = null;
  /** Link state from the last NDIS_STATUS_MEDIA_CONNECT / DISCONNECT. */
  mediaConnected: boolean | null = null;
  /** An NdisMIndicateStatus not yet followed by NdisMIndicateStatusComplete. */
  statusPending = false;
  packetsOutstanding = 0;
  sendsOutstanding = 0;
  readonly statistics: Ndis5AdapterStatistics = {
    packetsIndicated: 0,
    packetsReturned: 0,
    packetsDropped: 0,
    packetsSent: 0,
    sendsCompleted: 0,
    sendsFailed: 0,
    statusIndications: 0,
    handleInterruptCalls: 0,
  };
  readonly pools = new Set<NdisPacketPool>();
  pendingInformation: { request: NdisInformationRequest; kind: 'query' | 'set'; resolve: (status: NDIS_STATUS) => void } | null = null;
  requestChain: Promise<unknown> = Promise.resolve();
  initializing = false;

  constructor(driver: Ndis5Driver, resources: AdapterResources, registers: DeviceRegisters) {
    super(nextAdapterId++, driver, resources, registers);
  }

  get deserialized(): boolean {
    return (this.attributeFlags & 0x20) !== 0;
  }
}

let nextInterruptId = 1;

/** NDIS_MINIPORT_INTERRUPT: what NdisMRegisterInterrupt initializes. */
export class NdisMiniportInterrupt {
  readonly id = nextInterruptId++;
  readonly adapter: Ndis5Adapter;
  /** RequestIsr as given. */
  readonly requestIsr: boolean;
  readonly sharedInterrupt: boolean;
  kernelInterrupt!: InterruptObject;
  /** NDIS' DPC that runs MiniportHandleInterrupt (one KDPC, queued to the processor that took the interrupt). */
  dpc!: Dpc;
  deregistered = false;

  constructor(adapter: Ndis5Adapter, requestIsr: boolean, sharedInterrupt: boolean) {
    this.adapter = adapter;
    this.requestIsr = requestIsr;
    this.sharedInterrupt = sharedInterrupt;
  }

  /** Whether NDIS calls MiniportISR (RequestIsr, or a shared line) rather than MiniportDisableInterrupt. */
  get usesIsr(): boolean {
    return this.requestIsr || this.sharedInterrupt;
  }

  get irql(): number {
    return this.kernelInterrupt.synchronizeIrql;
  }
}
