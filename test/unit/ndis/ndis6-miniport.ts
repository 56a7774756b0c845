import {
  MediaConnectState,
  MediaDuplexState,
  NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL,
  NDIS_RECEIVE_FLAGS_RESOURCES,
  NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL,
  Ndis6,
  NdisInterruptModeration,
  NdisPacketType,
  NdisRequestType,
  NdisStatus,
  Oid,
  chainNetBufferLists,
  type MiniportAdapter,
  type MiniportDriver,
  type MiniportDriverCharacteristics,
  type MiniportInterruptResult,
  type Ndis6Library,
  type NdisInterrupt,
  type NdisInterruptModerationParameters,
  type NdisOidRequest,
  type NdisReceiveThrottleParameters,
  type NdisStatisticsInfo,
  type NdisStatusIndication,
  type NetBufferList,
  type NetBufferListPool,
  type ProtocolBinding,
} from '../../../src/ndis/ndis6/index.ts';
import type { DeviceRegisters } from '../../../src/kernel/index.ts';
import { ICR, IMC, IMS, LINE, LSC, RXT0, makeKernelRig, type KernelRig } from './fakes.ts';

export const STATUS = 0x8;
export const STATUS_LU = 0x2;
const MAC = Uint8Array.from([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);

export interface TestMiniportOptions {
  poolSize?: number;
  /** Indicate receives with NDIS_RECEIVE_FLAGS_RESOURCES. */
  resources?: boolean;
  /** MiniportHaltEx forgets NdisMDeregisterInterruptEx. */
  leakInterrupt?: boolean;
  /** MiniportOidRequest pends and completes from a later thread call. */
  pendOids?: boolean;
  /** Skip NdisMSetMiniportAttributes. */
  skipAttributes?: boolean;
  /** DIRQL of the adapter's interrupt. */
  irql?: number;
  /** The ISR asks for its DPC on these processors (bitmask) instead of the current one. */
  dpcTargets?: number;
  /** With dpcTargets: also set QueueDefaultInterruptDpc (NDIS must then ignore TargetProcessors). */
  queueDefaultDpcToo?: boolean;
}

/** Per-adapter state of the test miniport (its MiniportAdapterContext). */
export class TestAdapter {
  interrupt: NdisInterrupt | null = null;
  pool: NetBufferListPool | null = null;
  /** ICR causes the ISR saw and the DPC has not handled (shared with the ISR: touched under synchronize). */
  pendingCauses = 0;
  /** Frames the "NIC" received and the DPC has not indicated yet. */
  readonly rxQueue: Uint8Array[] = [];
  readonly sent: Uint8Array[] = [];
  readonly events: string[] = [];
  readonly dpcContexts: unknown[] = [];
  packetFilter = 0;
  multicast = new Uint8Array(0);
  moderation: NdisInterruptModerationParameters['interruptModeration'] = NdisInterruptModeration.Enabled;
  xmitOk = 0;
  rcvOk = 0;
  rcvBytes = 0;
  returned = 0;
  allocationFailures = 0;
  pendingPause = false;
  constructor(
    readonly ndis: Ndis6Library,
    readonly handle: MiniportAdapter,
    readonly regs: DeviceRegisters,
    readonly opts: TestMiniportOptions,
  ) {}

  get outstandingReceives(): number {
    return this.handle.receivesOutstanding;
  }
}

/** A small but complete NDIS 6 miniport for the fake NIC, written the way a Windows one is. */
export function testMiniportCharacteristics(ndis: Ndis6Library, opts: TestMiniportOptions = {}): MiniportDriverCharacteristics & { adapters: TestAdapter[] } {
  const adapters: TestAdapter[] = [];
  const k = ndis.kernel;

  async function TestInterrupt(ctx: unknown): Promise<MiniportInterruptResult> {
    const a = ctx as TestAdapter;
    const icr = await a.regs.read32(ICR);
    if (icr === 0) return { recognized: false, queueDefaultDpc: false };
    a.events.push(`isr at ${k.currentIrql()} on ${k.currentProcessor()}`);
    a.pendingCauses |= icr;
    await a.regs.write32(IMC, 0xffffffff);
    if (opts.dpcTargets) return { recognized: true, queueDefaultDpc: opts.queueDefaultDpcToo === true, targetProcessors: opts.dpcTargets };
    return { recognized: true, queueDefaultDpc: true };
  }

  function TakeCauses(ctx: unknown): boolean {
    const a = ctx as TestAdapter;
    const c = a.pendingCauses;
    a.pendingCauses = 0;
    a.events.push(`causes ${c.toString(16)}`);
    return c !== 0;
  }

  async function EnableInterrupts(ctx: unknown): Promise<boolean> {
    await (ctx as TestAdapter).regs.write32(IMS, RXT0 | LSC);
    return true;
  }

  async function TestInterruptDpc(ctx: unknown, _messageId: number, throttle: NdisReceiveThrottleParameters, dpcContext: unknown): Promise<void> {
    const a = ctx as TestAdapter;
    a.events.push(`dpc at ${k.currentIrql()} on ${k.currentProcessor()}`);
    a.dpcContexts.push(dpcContext);
    await ndis.synchronizeWithInterruptEx(a.interrupt!, 0, TakeCauses, a);
    let head: NetBufferList | null = null;
    let tail: NetBufferList | null = null;
    let n = 0;
    while (a.rxQueue.length > 0 && n < throttle.maxNblsToIndicate) {
      const frame = a.rxQueue[0]!;
      const nbl = ndis.allocateNetBufferAndNetBufferList(a.pool!, frame, 0, frame.length);
      if (!nbl) {
        a.allocationFailures++;
        break;
      }
      a.rxQueue.shift();
      nbl.sourceHandle = a.handle;
      if (tail) tail.next = nbl;
      else head = nbl;
      tail = nbl;
      n++;
      a.rcvOk++;
      a.rcvBytes += frame.length;
    }
    if (head) {
      const flags = NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL | (opts.resources ? NDIS_RECEIVE_FLAGS_RESOURCES : 0);
      await ndis.indicateReceiveNetBufferLists(a.handle, head, 0, n, flags);
      a.events.push(`indicated ${n}`);
      if (opts.resources) {
        for (let nbl: NetBufferList | null = head; nbl;) {
          const next: NetBufferList | null = nbl.next;
          ndis.freeNetBufferList(nbl);
          nbl = next;
        }
      }
    }
    if (a.rxQueue.length > 0 && a.allocationFailures === 0) throttle.moreNblsPending = true;
    const status = await a.regs.read32(STATUS);
    if (a.handle.linkState.mediaConnectState !== (status & STATUS_LU ? MediaConnectState.Connected : MediaConnectState.Disconnected)) {
      ndis.indicateStatusEx(a.handle, {
        statusCode: NdisStatus.LINK_STATE,
        buffer: {
          mediaConnectState: status & STATUS_LU ? MediaConnectState.Connected : MediaConnectState.Disconnected,
          mediaDuplexState: MediaDuplexState.Full,
          xmitLinkSpeed: 1_000_000_000,
          rcvLinkSpeed: 1_000_000_000,
        },
      });
    }
    await ndis.synchronizeWithInterruptEx(a.interrupt!, 0, EnableInterrupts, a);
  }

  return {
    adapters,
    name: 'TestMiniport',
    majorNdisVersion: 6,
    minorNdisVersion: 20,

    async initializeHandlerEx(handle, _driverContext, init) {
      const a = new TestAdapter(ndis, handle, init.allocatedResources.registers, opts);
      adapters.push(a);
      a.events.push(`initialize at ${k.currentIrql()}`);
      if (!opts.skipAttributes) {
        ndis.setMiniportAttributes(handle, { type: 'registration', miniportAdapterContext: a });
        ndis.setMiniportAttributes(handle, {
          type: 'general',
          mtuSize: 1500,
          maxXmitLinkSpeed: 1e9,
          maxRcvLinkSpeed: 1e9,
          xmitLinkSpeed: 1e9,
          rcvLinkSpeed: 1e9,
          mediaConnectState: MediaConnectState.Connected,
          mediaDuplexState: MediaDuplexState.Full,
          supportedPacketFilters: NdisPacketType.DIRECTED | NdisPacketType.MULTICAST | NdisPacketType.BROADCAST | NdisPacketType.PROMISCUOUS,
          maxMulticastListSize: 4,
          permanentMacAddress: MAC,
          currentMacAddress: MAC,
        });
      }
      a.pool = ndis.allocateNetBufferListPool(opts.poolSize ?? 16, { tag: 'TestRx', owner: handle });
      a.interrupt = ndis.registerInterruptEx(handle, a, { interruptHandler: TestInterrupt, interruptDpcHandler: TestInterruptDpc });
      await a.regs.write32(IMS, RXT0 | LSC);
      return NdisStatus.SUCCESS;
    },

    async haltHandlerEx(ctx) {
      const a = ctx as TestAdapter;
      a.events.push(`halt at ${k.currentIrql()}`);
      await a.regs.write32(IMC, 0xffffffff);
      if (!opts.leakInterrupt && a.interrupt) await ndis.deregisterInterruptEx(a.interrupt);
      if (a.pool) ndis.freeNetBufferListPool(a.pool);
    },

    sendNetBufferListsHandler(ctx, nbls, _port, flags) {
      const a = ctx as TestAdapter;
      a.events.push(`send at ${k.currentIrql()} flags ${flags}`);
      for (let nbl: NetBufferList | null = nbls; nbl; nbl = nbl.next) {
        a.sent.push(Uint8Array.from(nbl.firstNetBuffer.bytes()));
        nbl.status = NdisStatus.SUCCESS;
        a.xmitOk++;
      }
      ndis.sendNetBufferListsComplete(a.handle, nbls, NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL);
    },

    returnNetBufferListsHandler(ctx, nbls) {
      const a = ctx as TestAdapter;
      a.events.push(`return at ${k.currentIrql()}`);
      for (let nbl: NetBufferList | null = nbls; nbl;) {
        const next: NetBufferList | null = nbl.next;
        ndis.freeNetBufferList(nbl);
        a.returned++;
        nbl = next;
      }
      if (a.pendingPause && a.handle.receivesOutstanding === 0) {
        a.pendingPause = false;
        ndis.pauseComplete(a.handle);
      }
    },

    oidRequestHandler(ctx, request) {
      const a = ctx as TestAdapter;
      a.events.push(`oid ${request.oid.toString(16)} at ${k.currentIrql()}`);
      const status = answerOid(a, request);
      if (!opts.pendOids) return status;
      setImmediate(() => {
        void k.runAtPassive('OidWorker', () => ndis.oidRequestComplete(a.handle, request, status));
      });
      return NdisStatus.PENDING;
    },

    pauseHandler(ctx) {
      const a = ctx as TestAdapter;
      a.events.push(`pause at ${k.currentIrql()}`);
      if (a.handle.receivesOutstanding === 0) return NdisStatus.SUCCESS;
      a.pendingPause = true;
      return NdisStatus.PENDING;
    },

    restartHandler(ctx) {
      (ctx as TestAdapter).events.push(`restart at ${k.currentIrql()}`);
      return NdisStatus.SUCCESS;
    },
  };
}

function answerOid(a: TestAdapter, r: NdisOidRequest): number {
  const query = r.requestType === NdisRequestType.QueryInformation;
  switch (r.oid) {
    case Oid.GEN_CURRENT_PACKET_FILTER:
      if (query) r.informationBuffer = a.packetFilter;
      else a.packetFilter = r.informationBuffer as number;
      return NdisStatus.SUCCESS;
    case Oid['802_3_MULTICAST_LIST']: {
      if (query) {
        r.informationBuffer = a.multicast;
        return NdisStatus.SUCCESS;
      }
      const list = r.informationBuffer as Uint8Array;
      if (list.length % 6 !== 0) return NdisStatus.INVALID_LENGTH;
      if (list.length / 6 > 4) return NdisStatus.MULTICAST_FULL;
      a.multicast = Uint8Array.from(list);
      return NdisStatus.SUCCESS;
    }
    case Oid.GEN_XMIT_OK:
      r.informationBuffer = a.xmitOk;
      return NdisStatus.SUCCESS;
    case Oid.GEN_RCV_OK:
      r.informationBuffer = a.rcvOk;
      return NdisStatus.SUCCESS;
    case Oid.GEN_STATISTICS: {
      const s: NdisStatisticsInfo = {
        supportedStatistics: 0,
        ifInDiscards: 0,
        ifInErrors: 0,
        ifHCInOctets: a.rcvBytes,
        ifHCInUcastPkts: a.rcvOk,
        ifHCInMulticastPkts: 0,
        ifHCInBroadcastPkts: 0,
        ifHCOutOctets: 0,
        ifHCOutUcastPkts: a.xmitOk,
        ifHCOutMulticastPkts: 0,
        ifHCOutBroadcastPkts: 0,
        ifOutErrors: 0,
        ifOutDiscards: 0,
        ifHCInUcastOctets: 0,
        ifHCInMulticastOctets: 0,
        ifHCInBroadcastOctets: 0,
        ifHCOutUcastOctets: 0,
        ifHCOutMulticastOctets: 0,
        ifHCOutBroadcastOctets: 0,
      };
      r.informationBuffer = s;
      return NdisStatus.SUCCESS;
    }
    case Oid['802_3_CURRENT_ADDRESS']:
      r.informationBuffer = Uint8Array.from(MAC);
      r.bytesWritten = 6;
      return NdisStatus.SUCCESS;
    case Oid.GEN_INTERRUPT_MODERATION:
      if (query) r.informationBuffer = { flags: 0, interruptModeration: a.moderation } satisfies NdisInterruptModerationParameters;
      else a.moderation = (r.informationBuffer as NdisInterruptModerationParameters).interruptModeration;
      return NdisStatus.SUCCESS;
    default:
      return NdisStatus.NOT_SUPPORTED;
  }
}

/** The protocol side, recording what reaches it; holds receives until told when `hold` is set. */
export class RecordingBinding implements ProtocolBinding {
  readonly frames: Uint8Array[] = [];
  readonly indications: { count: number; flags: number; irql: number }[] = [];
  readonly statuses: NdisStatusIndication[] = [];
  readonly completions: { ids: number[]; statuses: number[] }[] = [];
  readonly held: NetBufferList[] = [];
  hold = false;

  constructor(private readonly ndis: Ndis6) {}

  receiveNetBufferLists(nbls: NetBufferList, count: number, flags: number, adapter: MiniportAdapter): void | Promise<void> {
    this.indications.push({ count, flags, irql: this.ndis.kernel.currentIrql() });
    for (let nbl: NetBufferList | null = nbls; nbl; nbl = nbl.next) this.frames.push(Uint8Array.from(nbl.firstNetBuffer.bytes()));
    if ((flags & NDIS_RECEIVE_FLAGS_RESOURCES) !== 0) return;
    if (this.hold) {
      for (let nbl: NetBufferList | null = nbls; nbl; nbl = nbl.next) this.held.push(nbl);
      return;
    }
    return this.ndis.returnNetBufferLists(adapter, nbls, 0);
  }

  sendNetBufferListsComplete(nbls: NetBufferList): void {
    const ids: number[] = [];
    const statuses: number[] = [];
    for (let nbl: NetBufferList | null = nbls; nbl; nbl = nbl.next) {
      ids.push(nbl.id);
      statuses.push(nbl.status);
    }
    this.completions.push({ ids, statuses });
  }

  statusIndication(status: NdisStatusIndication): void {
    this.statuses.push(status);
  }

  /** Give back every held NBL (host code: NdisReturnNetBufferLists outside any routine). */
  async returnHeld(adapter: MiniportAdapter): Promise<void> {
    const chain = chainNetBufferLists(this.held.splice(0));
    if (chain) await this.ndis.returnNetBufferLists(adapter, chain, 0);
  }
}

export interface Ndis6Rig extends KernelRig {
  ndis: Ndis6;
  driver: MiniportDriver;
  chars: ReturnType<typeof testMiniportCharacteristics>;
  binding: RecordingBinding;
  start(): Promise<{ adapter: MiniportAdapter; ctx: TestAdapter }>;
}

export interface Ndis6RigOptions extends TestMiniportOptions {
  processors?: number;
  verifier?: { synchronizeTimeLimitUs?: number; isrTimeLimitUs?: number };
  maxNblsToIndicate?: number;
}

export function makeNdis6Rig(opts: Ndis6RigOptions = {}): Ndis6Rig {
  const base = makeKernelRig({ ...(opts.processors ? { processors: opts.processors } : {}), ...(opts.verifier ? { verifier: opts.verifier } : {}) });
  const ndis = new Ndis6(base.kernel, opts.maxNblsToIndicate ? { maxNblsToIndicate: opts.maxNblsToIndicate } : {});
  const chars = testMiniportCharacteristics(ndis, opts);
  const driver = ndis.registerMiniportDriver(chars);
  const binding = new RecordingBinding(ndis);
  base.nic.regs.set(STATUS, STATUS_LU);
  return {
    ...base,
    ndis,
    driver,
    chars,
    binding,
    async start() {
      const adapter = await ndis.initializeMiniport(
        driver,
        {
          registers: base.nic,
          interrupt: { line: LINE, ...(opts.irql ? { irql: opts.irql } : {}) },
          name: 'nic0',
        },
        { binding },
      );
      return { adapter, ctx: chars.adapters[chars.adapters.length - 1]! };
    },
  };
}

/** A frame of `n` bytes whose bytes count up from `seed`. */
export function frame(n: number, seed = 0): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (seed + i) & 0xff);
}
