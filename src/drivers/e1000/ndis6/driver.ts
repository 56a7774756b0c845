import {
  NdisDevicePnPEvent,
  NdisHaltAction,
  NdisInterruptModeration,
  NdisStatus,
  ndisStatusName,
  type MiniportAdapter,
  type MiniportDriver,
  type MiniportInitParameters,
  type MiniportInterruptResult,
  type Ndis6Library,
  type NDIS_STATUS,
  type NdisHaltActionValue,
  type NetDevicePnPEvent,
  type NdisOidRequest,
  type NdisReceiveThrottleParameters,
  type NetBufferList,
} from '../../../ndis/ndis6/index.ts';
import { logger } from '../../../util/log.ts';
import type { E1000Settings } from '../settings.ts';
import { coreOptions } from '../common/ndis-resources.ts';
import { E1000Ndis6Adapter, ndisLinkState } from './adapter-context.ts';
import { handleOidRequest, SUPPORTED_OIDS } from './oid.ts';
import { MAC_OPTIONS, macBytes, SUPPORTED_PACKET_FILTERS } from '../common/ndis-oid.ts';

const log = logger('e1000.ndis6');

/** The miniport's configuration (what its registry keywords would hold). */
export interface E1000Ndis6Options extends E1000Settings {
  /** Interrupts per second when OID_GEN_INTERRUPT_MODERATION enables moderation. Default 20,000. */
  moderationRate?: number;
}

const RESULT_NOT_OURS: MiniportInterruptResult = Object.freeze({ recognized: false, queueDefaultDpc: false, targetProcessors: 0 });
const RESULT_OURS: MiniportInterruptResult = Object.freeze({ recognized: true, queueDefaultDpc: true, targetProcessors: 0 });

/**
 * DriverEntry of the NDIS 6 e1000 miniport: NdisMRegisterMiniportDriver with its handlers, each a
 * thin translation onto the framework-neutral core (src/drivers/e1000/miniport). Returns the
 * driver handle to give to ndis.initializeMiniport.
 */
export function registerE1000Ndis6(ndis: Ndis6Library, options: E1000Ndis6Options = {}): MiniportDriver {
  const ctxOf = (c: unknown) => c as E1000Ndis6Adapter;

  /** MiniportInitializeEx (PASSIVE_LEVEL). */
  async function MiniportInitializeEx(handle: MiniportAdapter, _driverContext: unknown, init: MiniportInitParameters): Promise<NDIS_STATUS> {
    const res = init.allocatedResources;
    let ctx: E1000Ndis6Adapter;
    try {
      const adapterOptions = coreOptions(res, options, handle.name);
      ctx = new E1000Ndis6Adapter(ndis, handle, adapterOptions);
    } catch (err) {
      log.error({ err }, 'MiniportInitializeEx: bad resources');
      return NdisStatus.RESOURCES;
    }
    ndis.setMiniportAttributes(handle, { type: 'registration', miniportAdapterContext: ctx, checkForHangTimeInSeconds: 0 });
    const core = ctx.core;
    let initialized = false;
    try {
      const { mac, link } = await core.initialize();
      initialized = true;
      const permanent = macBytes(core.permanentMac);
      const ls = ndisLinkState(link);
      ndis.setMiniportAttributes(handle, {
        type: 'general',
        mtuSize: 1500,
        maxXmitLinkSpeed: 1_000_000_000,
        maxRcvLinkSpeed: 1_000_000_000,
        xmitLinkSpeed: ls.xmitLinkSpeed,
        rcvLinkSpeed: ls.rcvLinkSpeed,
        mediaConnectState: ls.mediaConnectState,
        mediaDuplexState: ls.mediaDuplexState,
        lookaheadSize: 1500,
        macOptions: MAC_OPTIONS,
        supportedPacketFilters: SUPPORTED_PACKET_FILTERS,
        maxMulticastListSize: 32,
        permanentMacAddress: permanent,
        currentMacAddress: macBytes(mac),
        supportedOidList: SUPPORTED_OIDS,
        interruptModeration: (options.throttle?.itr ?? 0) > 0 ? NdisInterruptModeration.Enabled : NdisInterruptModeration.Disabled,
      });
      // As many receive NBLs as descriptors: an indication never finds the pool empty.
      ctx.receivePool = ndis.allocateNetBufferListPool(options.rxRingSize ?? 256, { tag: `${handle.name} e1000 rx`, owner: handle });
      ctx.takeReceiveNbls();
      ctx.interrupt = ndis.registerInterruptEx(handle, ctx, {
        interruptHandler: MiniportInterrupt,
        interruptDpcHandler: MiniportInterruptDPC,
        disableInterruptHandler: MiniportDisableInterruptEx,
        enableInterruptHandler: MiniportEnableInterruptEx,
      });
      // NDIS 6: MiniportInitializeEx leaves the adapter Paused; MiniportRestart lets traffic in.
      await core.start({ paused: true });
      return NdisStatus.SUCCESS;
    } catch (err) {
      log.error({ err }, 'MiniportInitializeEx failed');
      await undoInitialize(ctx, initialized);
      return NdisStatus.FAILURE;
    }
  }

  async function undoInitialize(ctx: E1000Ndis6Adapter, initialized: boolean): Promise<void> {
    try {
      if (initialized) await ctx.core.quiesce();
      if (ctx.interrupt) await ndis.deregisterInterruptEx(ctx.interrupt);
      ctx.interrupt = null;
      if (initialized) ctx.core.release();
      ctx.releaseReceiveNbls();
      if (ctx.receivePool) ndis.freeNetBufferListPool(ctx.receivePool);
      ctx.receivePool = null;
    } catch (err) {
      log.error({ err }, 'MiniportInitializeEx: undoing a failed initialisation failed too');
    }
  }

  /** MiniportHaltEx (PASSIVE_LEVEL; NDIS paused the adapter first): NIC quiet, interrupt gone, memory freed. */
  async function MiniportHaltEx(context: unknown, haltAction: NdisHaltActionValue): Promise<void> {
    const ctx = ctxOf(context);
    log.debug({ adapter: ctx.handle.name, haltAction }, 'MiniportHaltEx');
    if (haltAction === NdisHaltAction.DeviceSurpriseRemoved) ctx.core.surpriseRemoved();
    await ctx.core.quiesce();
    if (ctx.interrupt) await ndis.deregisterInterruptEx(ctx.interrupt);
    ctx.interrupt = null;
    ctx.core.release();
    ctx.releaseReceiveNbls();
    if (ctx.receivePool) ndis.freeNetBufferListPool(ctx.receivePool);
    ctx.receivePool = null;
  }

  /** MiniportDevicePnPEventNotify (PASSIVE_LEVEL): after a surprise removal the NIC is not touched again. */
  function MiniportDevicePnPEventNotify(context: unknown, event: NetDevicePnPEvent): void {
    log.debug({ adapter: ctxOf(context).handle.name, event: event.devicePnPEvent }, 'MiniportDevicePnPEventNotify');
    if (event.devicePnPEvent === NdisDevicePnPEvent.SurpriseRemoved) ctxOf(context).core.surpriseRemoved();
  }

  /** MiniportPause (PASSIVE_LEVEL): sends finished, receive indications stopped, all NBLs back. */
  async function MiniportPause(context: unknown): Promise<NDIS_STATUS> {
    await ctxOf(context).core.pause();
    return NdisStatus.SUCCESS;
  }

  /** MiniportRestart (PASSIVE_LEVEL). */
  async function MiniportRestart(context: unknown): Promise<NDIS_STATUS> {
    await ctxOf(context).core.restart();
    return NdisStatus.SUCCESS;
  }

  /** MiniportSendNetBufferLists (DISPATCH_LEVEL here). */
  function MiniportSendNetBufferLists(context: unknown, netBufferLists: NetBufferList): Promise<void> | undefined {
    return ctxOf(context).sendNetBufferLists(netBufferLists);
  }

  /** MiniportReturnNetBufferLists (<= DISPATCH_LEVEL). */
  function MiniportReturnNetBufferLists(context: unknown, netBufferLists: NetBufferList): Promise<void> {
    return ctxOf(context).returnNetBufferLists(netBufferLists);
  }

  /** MiniportOidRequest (PASSIVE_LEVEL here). */
  async function MiniportOidRequest(context: unknown, request: NdisOidRequest): Promise<NDIS_STATUS> {
    const ctx = ctxOf(context);
    const status = await handleOidRequest({ core: ctx.core, permanentMac: ctx.core.permanentMac, moderationRate: options.moderationRate ?? 20_000 }, request);
    if (status !== NdisStatus.SUCCESS) log.debug({ oid: request.oid, status: ndisStatusName(status) }, 'OID request not satisfied');
    return status;
  }

  /** MiniportInterrupt (DIRQL): the core's ISR body. */
  async function MiniportInterrupt(context: unknown): Promise<MiniportInterruptResult> {
    const r = await ctxOf(context).core.isr();
    return r.recognized ? RESULT_OURS : RESULT_NOT_OURS;
  }

  /** MiniportInterruptDPC (DISPATCH_LEVEL): the core's DPC body, within NDIS' receive throttle. */
  async function MiniportInterruptDPC(context: unknown, _messageId: number, throttle: NdisReceiveThrottleParameters): Promise<void> {
    await ctxOf(context).core.dpc(throttle.maxNblsToIndicate);
  }

  /** MiniportDisableInterruptEx (DIRQL). */
  async function MiniportDisableInterruptEx(context: unknown): Promise<void> {
    await ctxOf(context).core.disableInterruptAtDirql();
  }

  /** MiniportEnableInterruptEx (DIRQL). */
  async function MiniportEnableInterruptEx(context: unknown): Promise<void> {
    await ctxOf(context).core.enableInterruptAtDirql();
  }

  return ndis.registerMiniportDriver({
    majorNdisVersion: 6,
    minorNdisVersion: 20,
    name: 'e1000',
    initializeHandlerEx: MiniportInitializeEx,
    haltHandlerEx: MiniportHaltEx,
    pauseHandler: MiniportPause,
    restartHandler: MiniportRestart,
    sendNetBufferListsHandler: MiniportSendNetBufferLists,
    returnNetBufferListsHandler: MiniportReturnNetBufferLists,
    oidRequestHandler: MiniportOidRequest,
    devicePnPEventNotifyHandler: MiniportDevicePnPEventNotify,
  });
}
