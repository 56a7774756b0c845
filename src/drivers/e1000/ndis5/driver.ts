import {
  NdisAttribute,
  NdisDevicePnPEvent,
  NdisInterruptMode,
  NdisStatus,
  ndisStatusName,
  type Ndis5Library,
  type Ndis5Adapter,
  type Ndis5Driver,
  type MiniportInitParameters5,
  type MiniportIsrResult,
  type NDIS_STATUS,
  type NdisInformationRequest,
  type NdisPacket,
  type NdisDevicePnPEventValue,
} from '../../../ndis/ndis5/index.ts';
import { logger } from '../../../util/log.ts';
import type { E1000Settings } from '../settings.ts';
import { coreOptions } from '../common/ndis-resources.ts';
import { E1000Ndis5Adapter, type Ndis5InterruptMode } from './adapter-context.ts';
import { queryInformation, setInformation, type Ndis5OidContext } from './oid.ts';

const log = logger('e1000.ndis5');

/** The miniport's configuration (what its registry keywords would hold). */
export interface E1000Ndis5Options extends E1000Settings {
  /** How NdisMRegisterInterrupt is called (see Ndis5InterruptMode). Default 'isr'. */
  interruptMode?: Ndis5InterruptMode;
  /** Receive packets go up with NDIS_STATUS_RESOURCES once fewer descriptors than this would be left to the NIC. Default rxRingSize / 8. */
  receiveLowWater?: number;
  /** OID_GEN_MAXIMUM_SEND_PACKETS. Default 64. */
  maximumSendPackets?: number;
}

/**
 * DriverEntry of the NDIS 5.1 e1000 miniport: NdisMRegisterMiniport with its handlers, each a thin
 * translation onto the framework-neutral core (src/drivers/e1000/miniport). A deserialized bus
 * master (NDIS_ATTRIBUTE_DESERIALIZE | NDIS_ATTRIBUTE_BUS_MASTER): every send completes with
 * NdisMSendComplete. Returns the driver handle to give to ndis.initializeMiniport.
 */
export function registerE1000Ndis5(ndis: Ndis5Library, options: E1000Ndis5Options = {}): Ndis5Driver {
  const ctxOf = (c: unknown) => c as E1000Ndis5Adapter;
  const mode: Ndis5InterruptMode = options.interruptMode ?? 'isr';
  const oidContext = (ctx: E1000Ndis5Adapter): Ndis5OidContext => ({
    core: ctx.core,
    maximumSendPackets: options.maximumSendPackets ?? 64,
    txRingSize: options.txRingSize ?? 256,
    rxRingSize: options.rxRingSize ?? 256,
  });

  /** MiniportInitialize (PASSIVE_LEVEL). */
  async function MiniportInitialize(handle: Ndis5Adapter, parameters: MiniportInitParameters5): Promise<NDIS_STATUS> {
    const res = parameters.allocatedResources;
    let ctx: E1000Ndis5Adapter;
    try {
      const adapterOptions = coreOptions(res, options, handle.name);
      ctx = new E1000Ndis5Adapter(ndis, handle, adapterOptions, { interruptMode: mode, receiveLowWater: options.receiveLowWater });
    } catch (err) {
      log.error({ err }, 'MiniportInitialize: bad resources');
      return NdisStatus.RESOURCES;
    }
    ndis.setAttributesEx(handle, ctx, {
      attributeFlags: NdisAttribute.DESERIALIZE | NdisAttribute.BUS_MASTER | NdisAttribute.SURPRISE_REMOVE_OK,
      checkForHangTimeInSeconds: 0,
    });
    const core = ctx.core;
    let initialized = false;
    try {
      await core.initialize();
      initialized = true;
      // As many receive packets as descriptors: an indication never finds the pool empty.
      ctx.receivePool = ndis.allocatePacketPool(options.rxRingSize ?? 256, { tag: `${handle.name} e1000 rx`, owner: handle });
      ctx.receiveTimer = ndis.initializeTimer(handle, MiniportReceiveTimer, ctx);
      ctx.interrupt = ndis.registerInterrupt(handle, {
        requestIsr: mode === 'isr',
        sharedInterrupt: mode === 'isr',
        interruptMode: NdisInterruptMode.LevelSensitive,
      });
      await core.start();
      return NdisStatus.SUCCESS;
    } catch (err) {
      log.error({ err }, 'MiniportInitialize failed');
      await undoInitialize(ctx, initialized);
      return NdisStatus.FAILURE;
    }
  }

  async function undoInitialize(ctx: E1000Ndis5Adapter, initialized: boolean): Promise<void> {
    try {
      if (initialized) await ctx.core.quiesce();
      await ctx.stopTimer();
      if (ctx.interrupt) await ndis.deregisterInterrupt(ctx.interrupt);
      ctx.interrupt = null;
      if (initialized) ctx.core.release();
      if (ctx.receivePool) ndis.freePacketPool(ctx.receivePool);
      ctx.receivePool = null;
    } catch (err) {
      log.error({ err }, 'MiniportInitialize: undoing a failed initialisation failed too');
    }
  }

  /**
   * MiniportHalt (PASSIVE_LEVEL): the NIC quiet (every send completed), the receive timer stopped,
   * the interrupt deregistered (seed: after that NDIS calls neither MiniportISR nor
   * MiniportHandleInterrupt), DMA memory and the packet pool freed.
   */
  async function MiniportHalt(context: unknown): Promise<void> {
    const ctx = ctxOf(context);
    log.debug({ adapter: ctx.handle.name }, 'MiniportHalt');
    await ctx.core.quiesce();
    await ctx.stopTimer();
    if (ctx.interrupt) await ndis.deregisterInterrupt(ctx.interrupt);
    ctx.interrupt = null;
    ctx.core.release();
    if (ctx.receivePool) ndis.freePacketPool(ctx.receivePool);
    ctx.receivePool = null;
  }

  /** MiniportPnPEventNotify (NDIS 5.1, PASSIVE_LEVEL): after a surprise removal the NIC is not touched again. */
  function MiniportPnPEventNotify(context: unknown, pnpEvent: NdisDevicePnPEventValue): void {
    log.debug({ adapter: ctxOf(context).handle.name, pnpEvent }, 'MiniportPnPEventNotify');
    if (pnpEvent === NdisDevicePnPEvent.SurpriseRemoved) ctxOf(context).core.surpriseRemoved();
  }

  /** MiniportISR (DIRQL). */
  function MiniportISR(context: unknown): Promise<MiniportIsrResult> {
    return ctxOf(context).isr();
  }

  /** MiniportDisableInterrupt (DIRQL). */
  function MiniportDisableInterrupt(context: unknown): Promise<void> {
    return ctxOf(context).disableInterrupt();
  }

  /** MiniportEnableInterrupt (DIRQL, synchronized with the ISR). */
  function MiniportEnableInterrupt(context: unknown): Promise<void> {
    return ctxOf(context).enableInterrupt();
  }

  /** MiniportHandleInterrupt (DISPATCH_LEVEL). */
  function MiniportHandleInterrupt(context: unknown): Promise<void> {
    return ctxOf(context).handleInterrupt();
  }

  /** The NDIS timer function of the receive re-check (DISPATCH_LEVEL). */
  function MiniportReceiveTimer(context: unknown): Promise<void> {
    return ctxOf(context).timerFired();
  }

  /** MiniportSendPackets (DISPATCH_LEVEL). */
  function MiniportSendPackets(context: unknown, packetArray: readonly NdisPacket[], numberOfPackets: number): Promise<void> {
    return ctxOf(context).sendPackets(packetArray, numberOfPackets);
  }

  /** MiniportReturnPacket (DISPATCH_LEVEL). */
  function MiniportReturnPacket(context: unknown, packet: NdisPacket): Promise<void> {
    return ctxOf(context).returnPacket(packet);
  }

  /** MiniportQueryInformation (DISPATCH_LEVEL). */
  async function MiniportQueryInformation(context: unknown, request: NdisInformationRequest): Promise<NDIS_STATUS> {
    const status = await queryInformation(oidContext(ctxOf(context)), request);
    if (status !== NdisStatus.SUCCESS) log.debug({ oid: request.oid, status: ndisStatusName(status) }, 'query not satisfied');
    return status;
  }

  /** MiniportSetInformation (DISPATCH_LEVEL). */
  async function MiniportSetInformation(context: unknown, request: NdisInformationRequest): Promise<NDIS_STATUS> {
    const status = await setInformation(oidContext(ctxOf(context)), request);
    if (status !== NdisStatus.SUCCESS) log.debug({ oid: request.oid, status: ndisStatusName(status) }, 'set not satisfied');
    return status;
  }

  return ndis.registerMiniport({
    majorNdisVersion: 5,
    minorNdisVersion: 1,
    name: 'e1000',
    initializeHandler: MiniportInitialize,
    haltHandler: MiniportHalt,
    isrHandler: MiniportISR,
    disableInterruptHandler: MiniportDisableInterrupt,
    enableInterruptHandler: MiniportEnableInterrupt,
    handleInterruptHandler: MiniportHandleInterrupt,
    sendPacketsHandler: MiniportSendPackets,
    returnPacketHandler: MiniportReturnPacket,
    queryInformationHandler: MiniportQueryInformation,
    setInformationHandler: MiniportSetInformation,
    pnpEventNotifyHandler: MiniportPnPEventNotify,
  });
}
