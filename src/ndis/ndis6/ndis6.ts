import { DeviceRegisters, Dpc, Irql, KernelError, type Kernel } from '../../kernel/index.ts';
import { NdisViolation, StateTransition, ndisBugCheck } from '../common/bugcheck.ts';
import { NdisCharacteristicsError, NdisError, NdisOperationError } from '../common/errors.ts';
import { NdisFramework } from '../common/framework.ts';
import { named } from '../common/named.ts';
import type { NdisTimer, NdisTimerFunction } from '../common/timer.ts';
import { inRoutine, requireNdisIrql, requireNdisIrqlIfInRoutine } from '../common/irql-rules.ts';
import { MediaConnectState, MediaDuplexState, NdisRequestType, oidName, type NdisLinkState } from '../common/oids.ts';
import { NdisStatus, ndisStatusName, ndisStatusSucceeded, type NDIS_STATUS } from '../common/status.ts';
import { MiniportAdapter } from './adapter.ts';
import { MiniportDriver } from './driver.ts';
import { NdisInterrupt } from './interrupt.ts';
import { NetBufferListPool, type NetBufferList, type NetBufferListPoolOptions } from './net-buffer-list.ts';
import {
  NDIS_INDICATE_ALL_NBLS, NdisHaltAction, NdisReceiveFlags, NdisReturnFlags, NdisSendCompleteFlags, NdisSendFlags,
  NdisShutdownAction,
  type AdapterResources, type MiniportAdapterAttributes, type MiniportDriverCharacteristics,
  type MiniportInterruptCharacteristics, type MiniportInterruptResult, type NdisHaltActionValue, type NdisOidRequest,
  type NdisStatusIndication, type ProtocolBinding,
} from './types.ts';

export interface Ndis6Options {
  /** MaxNblsToIndicate given to MiniportInterruptDPC. Default NDIS_INDICATE_ALL_NBLS. */
  maxNblsToIndicate?: number;
}

export interface InitializeMiniportOptions {
  /** The protocol side to bind (can also be bound later with bindProtocol). */
  binding?: ProtocolBinding;
  /** Call MiniportRestart after a successful MiniportInitializeEx, as NDIS does when a protocol binds. Default true. */
  restart?: boolean;
}

/** Arguments of a host OID request; the rest of NDIS_OID_REQUEST is filled in. */
export interface OidRequestInput {
  requestType: NdisOidRequest['requestType'];
  oid: number;
  informationBuffer?: unknown;
  informationBufferLength?: number;
  portNumber?: number;
}

/** Emitted as 'poolExhausted' when an NBL allocation fails. */
export interface PoolExhaustedEvent {
  readonly pool: NetBufferListPool;
  readonly api: string;
  readonly failures: number;
}

let nextRequestId = 1;

/**
 * The NDIS 6.x facade: the calls an NDIS 6 miniport makes (NdisMXxx, Ndis*NetBufferList*, NDIS
 * spin locks), and the host side of NDIS (initializing, pausing, restarting and halting adapters,
 * sending, returning receives, OID requests) that calls the miniport's handlers at the IRQL
 * Windows uses. One kernel underneath; every driver-facing call checks its documented IRQL.
 *
 * Events: 'poolExhausted' (PoolExhaustedEvent), 'status' (adapter, NdisStatusIndication).
 */
export class Ndis6 extends NdisFramework {
  readonly drivers = new Set<MiniportDriver>();
  readonly adapters = new Set<MiniportAdapter>();
  readonly maxNblsToIndicate: number;

  constructor(kernel: Kernel, opts: Ndis6Options = {}) {
    super(kernel, 'ndis6');
    this.maxNblsToIndicate = opts.maxNblsToIndicate ?? NDIS_INDICATE_ALL_NBLS;
  }

  // ================================================================ driver registration

  /**
   * NdisMRegisterMiniportDriver (PASSIVE_LEVEL; DriverEntry, or host code). Throws
   * NdisCharacteristicsError (NDIS_STATUS_BAD_VERSION / BAD_CHARACTERISTICS) for a required handler
   * missing or an NDIS version that is not 6.x.
   */
  registerMiniportDriver(characteristics: MiniportDriverCharacteristics, miniportDriverContext?: unknown): MiniportDriver {
    requireNdisIrqlIfInRoutine(this.kernel, 'NdisMRegisterMiniportDriver');
    const major = characteristics.majorNdisVersion ?? 6;
    if (major !== 6) {
      throw new NdisCharacteristicsError(`NdisMRegisterMiniportDriver: MajorNdisVersion ${major} is not 6 (use the NDIS 5 facade for 5.x miniports)`, NdisStatus.BAD_VERSION);
    }
    const required = ['initializeHandlerEx', 'haltHandlerEx', 'sendNetBufferListsHandler', 'returnNetBufferListsHandler', 'oidRequestHandler'] as const;
    for (const h of required) {
      if (typeof characteristics[h] !== 'function') {
        throw new NdisCharacteristicsError(`NdisMRegisterMiniportDriver: ${h} is required`, NdisStatus.BAD_CHARACTERISTICS, { handler: h });
      }
    }
    const driver = new MiniportDriver(characteristics, miniportDriverContext);
    this.drivers.add(driver);
    this.kernel.trace.record('ndis', `NdisMRegisterMiniportDriver ${driver.name}`);
    return driver;
  }

  /** NdisMDeregisterMiniportDriver (PASSIVE_LEVEL): every adapter of the driver must be halted first. */
  deregisterMiniportDriver(driver: MiniportDriver): void {
    requireNdisIrqlIfInRoutine(this.kernel, 'NdisMDeregisterMiniportDriver');
    const live = [...driver.adapters].filter((a) => !a.halted);
    if (live.length > 0) throw new NdisError(`NdisMDeregisterMiniportDriver(${driver.name}) with adapters not halted: ${live.map((a) => a.name).join(', ')}`, { driver: driver.name });
    driver.deregistered = true;
    this.drivers.delete(driver);
  }

  /**
   * NdisMSetMiniportAttributes (PASSIVE_LEVEL, inside MiniportInitializeEx): registration
   * attributes first (they carry the MiniportAdapterContext), then general attributes.
   */
  setMiniportAttributes(adapterHandle: MiniportAdapter, attributes: MiniportAdapterAttributes): NDIS_STATUS {
    const api = 'NdisMSetMiniportAttributes';
    requireNdisIrql(this.kernel, api);
    this.checkAdapter(adapterHandle, api);
    if (!adapterHandle.initializing) {
      ndisBugCheck(this.kernel, NdisViolation.BAD_ATTRIBUTES, api, `${api}(${adapterHandle.name}) outside MiniportInitializeEx`, adapterHandle.id);
    }
    if (attributes.type === 'registration') {
      adapterHandle.registrationAttributes = { ...attributes };
      return NdisStatus.SUCCESS;
    }
    if (attributes.type === 'general') {
      if (!adapterHandle.registrationAttributes) {
        ndisBugCheck(this.kernel, NdisViolation.BAD_ATTRIBUTES, api, `${api}(${adapterHandle.name}): general attributes set before the registration attributes`, adapterHandle.id);
      }
      adapterHandle.generalAttributes = { ...attributes };
      adapterHandle.linkState = {
        mediaConnectState: attributes.mediaConnectState, mediaDuplexState: attributes.mediaDuplexState,
        xmitLinkSpeed: attributes.xmitLinkSpeed, rcvLinkSpeed: attributes.rcvLinkSpeed,
      };
      return NdisStatus.SUCCESS;
    }
    return NdisStatus.INVALID_PARAMETER;
  }

  // ================================================================ interrupts

  /**
   * NdisMRegisterInterruptEx (PASSIVE_LEVEL): connects MiniportInterrupt to the adapter's line at its
   * DIRQL. Throws NdisOperationError (NDIS_STATUS_RESOURCE_CONFLICT, INVALID_PARAMETER, FAILURE) where
   * Windows returns a failure status.
   */
  registerInterruptEx(adapterHandle: MiniportAdapter, miniportInterruptContext: unknown, characteristics: MiniportInterruptCharacteristics): NdisInterrupt {
    const api = 'NdisMRegisterInterruptEx';
    requireNdisIrql(this.kernel, api);
    this.checkAdapter(adapterHandle, api);
    if (typeof characteristics.interruptHandler !== 'function' || typeof characteristics.interruptDpcHandler !== 'function') {
      throw new NdisOperationError(`${api}: MiniportInterrupt and MiniportInterruptDPC are required`, NdisStatus.INVALID_PARAMETER, { adapter: adapterHandle.name });
    }
    if (adapterHandle.interrupt) {
      throw new NdisOperationError(`${api}: ${adapterHandle.name} already has a registered interrupt`, NdisStatus.FAILURE, { adapter: adapterHandle.name });
    }
    const handle = new NdisInterrupt(adapterHandle, miniportInterruptContext, characteristics);
    const dpcName = characteristics.interruptDpcHandler.name || 'MiniportInterruptDPC';
    for (let i = 0; i < this.kernel.processorCount; i++) {
      const dpc = new Dpc((d, _ctx, messageId, dpcContext) => this.runInterruptDpc(handle, i, d, messageId, dpcContext), handle, dpcName);
      dpc.setTargetProcessor(i);
      handle.dpcs.push(dpc);
      handle.throttles.push({ maxNblsToIndicate: this.maxNblsToIndicate, moreNblsPending: false });
    }
    const res = adapterHandle.resources.interrupt;
    try {
      handle.kernelInterrupt = this.kernel.connectInterrupt({
        line: res.line,
        ...(res.irql !== undefined ? { irql: res.irql } : {}),
        ...(res.processors ? { processors: res.processors } : {}),
        shareVector: res.shared ?? true,
        name: characteristics.interruptHandler.name || 'MiniportInterrupt',
        isr: () => this.runInterrupt(handle),
        context: miniportInterruptContext,
        dpcs: handle.dpcs,
      });
    } catch (err) {
      if (err instanceof KernelError) {
        throw new NdisOperationError(`${api}(${adapterHandle.name}) on line ${res.line}: ${err.message}`, NdisStatus.RESOURCE_CONFLICT, { adapter: adapterHandle.name, line: res.line }, { cause: err });
      }
      throw err;
    }
    adapterHandle.interrupt = handle;
    return handle;
  }

  /**
   * NdisMDeregisterInterruptEx (PASSIVE_LEVEL): once it returns, MiniportInterrupt and
   * MiniportInterruptDPC are never called again (it waits for a running ISR and for queued and
   * running DPCs).
   */
  async deregisterInterruptEx(interruptHandle: NdisInterrupt): Promise<void> {
    const api = 'NdisMDeregisterInterruptEx';
    requireNdisIrql(this.kernel, api);
    this.checkInterrupt(interruptHandle, api);
    interruptHandle.deregistered = true;
    await interruptHandle.kernelInterrupt.disconnectWithDpcs();
    if (interruptHandle.adapter.interrupt === interruptHandle) interruptHandle.adapter.interrupt = null;
  }

  /**
   * NdisMSynchronizeWithInterruptEx (<= DIRQL): runs MiniportSynchronizeInterrupt at the interrupt's
   * DIRQL holding its interrupt spin lock (MiniportInterrupt cannot run on any processor meanwhile),
   * restores the caller's IRQL and returns the routine's boolean. `messageId` is 0 for line interrupts.
   */
  synchronizeWithInterruptEx(interruptHandle: NdisInterrupt, messageId: number, synchronizeFunction: (synchronizeContext: unknown) => boolean | Promise<boolean>, synchronizeContext?: unknown): Promise<boolean> {
    const api = 'NdisMSynchronizeWithInterruptEx';
    this.checkInterrupt(interruptHandle, api);
    requireNdisIrql(this.kernel, api, interruptHandle.irql);
    void messageId;
    const fn = synchronizeFunction.name ? synchronizeFunction : named('MiniportSynchronizeInterrupt', synchronizeFunction);
    return this.kernel.synchronizeExecution(interruptHandle.kernelInterrupt, fn, synchronizeContext);
  }

  /**
   * NdisMQueueDpcEx (<= DIRQL): queue MiniportInterruptDPC on each processor in the
   * `targetProcessors` bitmask; `miniportDpcContext` reaches the DPC. Returns the bitmask of
   * processors where it was queued (a DPC already queued there is not queued twice).
   */
  queueDpcEx(interruptHandle: NdisInterrupt, messageId: number, targetProcessors: number, miniportDpcContext?: unknown): number | Promise<number> {
    const api = 'NdisMQueueDpcEx';
    this.checkInterrupt(interruptHandle, api);
    requireNdisIrql(this.kernel, api, interruptHandle.irql);
    const self = this.kernel.currentProcessor();
    let queued = 0;
    for (let i = 0; i < interruptHandle.dpcs.length && i < 32; i++) {
      if (i === self || ((targetProcessors >>> i) & 1) === 0) continue;
      if (this.kernel.enqueueDpc(interruptHandle.dpcs[i]!, messageId, miniportDpcContext)) queued |= 1 << i;
    }
    if (self >= 32 || ((targetProcessors >>> self) & 1) === 0 || !interruptHandle.dpcs[self]) return queued >>> 0;
    // Last, so that below DISPATCH_LEVEL the caller's own DPC runs (KeInsertQueueDpc) before we return.
    const mine = this.kernel.insertQueueDpc(interruptHandle.dpcs[self], messageId, miniportDpcContext);
    const withMine = (q: boolean): number => (q ? queued | (1 << self) : queued) >>> 0;
    return typeof mine === 'boolean' ? withMine(mine) : mine.then(withMine);
  }

  /** NDIS' ISR for the line: calls MiniportInterrupt and queues the DPCs it asks for. */
  private async runInterrupt(handle: NdisInterrupt): Promise<boolean> {
    if (handle.deregistered) return false;
    const result: MiniportInterruptResult = await handle.characteristics.interruptHandler(handle.context);
    if (result === null || typeof result !== 'object' || typeof result.recognized !== 'boolean') {
      ndisBugCheck(this.kernel, NdisViolation.BAD_RETURN_VALUE, 'MiniportInterrupt',
        'MiniportInterrupt must return { recognized, queueDefaultDpc, targetProcessors? }', handle.adapter.id, handle.id);
    }
    // QueueDefaultInterruptDpc TRUE: NDIS ignores TargetProcessors and queues exactly one
    // MiniportInterruptDPC, on the current processor (MINIPORT_ISR_HANDLER).
    if (result.queueDefaultDpc) {
      this.kernel.enqueueDpc(handle.dpcs[this.kernel.currentProcessor()]!, 0, undefined);
    } else if (result.targetProcessors) {
      const targets = result.targetProcessors;
      for (let i = 0; i < handle.dpcs.length && i < 32; i++) {
        if ((targets >>> i) & 1) this.kernel.enqueueDpc(handle.dpcs[i]!, 0, undefined);
      }
    }
    return result.recognized;
  }

  /** NDIS' DPC for one processor: MiniportInterruptDPC with receive throttling; queued again while it reports more pending. */
  private async runInterruptDpc(handle: NdisInterrupt, processor: number, dpc: Dpc, messageId: unknown, dpcContext: unknown): Promise<void> {
    if (handle.deregistered) return;
    const throttle = handle.throttles[processor]!;
    throttle.maxNblsToIndicate = this.maxNblsToIndicate;
    throttle.moreNblsPending = false;
    handle.adapter.statistics.interruptDpcs++;
    await handle.characteristics.interruptDpcHandler(handle.context, typeof messageId === 'number' ? messageId : 0, throttle, dpcContext);
    if (throttle.moreNblsPending && !handle.deregistered) this.kernel.enqueueDpc(dpc, messageId, dpcContext);
  }

  // ================================================================ timers

  /**
   * NdisAllocateTimerObject (<= DISPATCH_LEVEL): a timer whose function runs at DISPATCH_LEVEL in a
   * DPC. `ndisHandle` is the adapter (halt checks the timer was freed) or null for a driver-wide one.
   */
  allocateTimerObject(ndisHandle: MiniportAdapter | null, characteristics: { timerFunction: NdisTimerFunction; functionContext?: unknown; allocationTag?: string }): NdisTimer {
    return this.createTimer('NdisAllocateTimerObject', characteristics.timerFunction, characteristics.functionContext, ndisHandle, characteristics.allocationTag);
  }

  /**
   * NdisSetTimerObject (<= DISPATCH_LEVEL): due in `dueTimeMs` (Windows takes 100 ns units), then
   * every `millisecondsPeriod` if non-zero. True if the timer was already set.
   */
  setTimerObject(timerObject: NdisTimer, dueTimeMs: number, millisecondsPeriod = 0, functionContext?: unknown): boolean {
    if (functionContext !== undefined) timerObject.functionContext = functionContext;
    return this.setNdisTimer('NdisSetTimerObject', timerObject, dueTimeMs, millisecondsPeriod);
  }

  /** NdisCancelTimerObject (<= DISPATCH_LEVEL): true if the timer was set. */
  cancelTimerObject(timerObject: NdisTimer): boolean {
    return this.cancelNdisTimer('NdisCancelTimerObject', timerObject);
  }

  /** NdisFreeTimerObject (<= DISPATCH_LEVEL). */
  freeTimerObject(timerObject: NdisTimer): void {
    this.freeNdisTimer('NdisFreeTimerObject', timerObject);
  }

  // ================================================================ NET_BUFFER_LIST pools

  /**
   * NdisAllocateNetBufferListPool (<= DISPATCH_LEVEL, or host code): a pool of `size` NBLs, each
   * with one NET_BUFFER (and its own `dataSize`-byte buffer if given).
   */
  allocateNetBufferListPool(size: number, opts: NetBufferListPoolOptions = {}): NetBufferListPool {
    requireNdisIrqlIfInRoutine(this.kernel, 'NdisAllocateNetBufferListPool');
    if (!Number.isInteger(size) || size < 1) throw new NdisError(`NdisAllocateNetBufferListPool: size ${size} must be a positive integer`, { size });
    const pool = new NetBufferListPool(size, opts);
    if (opts.owner instanceof MiniportAdapter) opts.owner.pools.add(pool);
    return pool;
  }

  /** NdisFreeNetBufferListPool (<= DISPATCH_LEVEL): every NBL must be back in the pool. */
  freeNetBufferListPool(pool: NetBufferListPool): void {
    const api = 'NdisFreeNetBufferListPool';
    requireNdisIrqlIfInRoutine(this.kernel, api);
    this.checkPool(pool, api);
    const out = pool.inUse;
    if (out > 0) {
      this.violation(NdisViolation.POOL_FREED_WITH_OUTSTANDING_NBLS, api, `${api}(${pool.tag}) with ${out} NBLs still allocated`, pool.id, out);
    }
    pool.freed = true;
    if (pool.owner instanceof MiniportAdapter) pool.owner.pools.delete(pool);
  }

  /**
   * NdisAllocateNetBufferAndNetBufferList (<= DISPATCH_LEVEL): an NBL whose NET_BUFFER describes
   * `length` bytes of `data` at `offset` (data omitted: the pool's own buffer). Returns null when the
   * pool is exhausted, as Windows does, and reports it: pool.allocationFailures, a trace entry, a
   * warning and a 'poolExhausted' event.
   */
  allocateNetBufferAndNetBufferList(pool: NetBufferListPool, data: Uint8Array | null = null, offset = 0, length?: number): NetBufferList | null {
    const api = 'NdisAllocateNetBufferAndNetBufferList';
    requireNdisIrqlIfInRoutine(this.kernel, api);
    this.checkPool(pool, api);
    const nbl = pool.take();
    if (!nbl) {
      pool.allocationFailures++;
      this.kernel.trace.record('ndis', `${api}: pool ${pool.tag} exhausted (${pool.size} NBLs in use, failure ${pool.allocationFailures})`, this.kernel.current()?.processor.index);
      if ((pool.allocationFailures & (pool.allocationFailures - 1)) === 0) {
        this.log.warn({ pool: pool.tag, size: pool.size, failures: pool.allocationFailures }, `${api}: NBL pool ${pool.tag} exhausted`);
      }
      this.emit('poolExhausted', { pool, api, failures: pool.allocationFailures } satisfies PoolExhaustedEvent);
      return null;
    }
    const buf = data ?? nbl.ownData;
    if (!buf) {
      pool.put(nbl);
      throw new NdisError(`${api}: no data given and pool ${pool.tag} has no DataSize`, { pool: pool.tag });
    }
    const len = length ?? buf.length - offset;
    if (offset < 0 || len < 0 || offset + len > buf.length) {
      pool.put(nbl);
      throw new NdisError(`${api}: offset ${offset} + length ${len} is outside the ${buf.length}-byte buffer`, { pool: pool.tag, offset, length: len });
    }
    nbl.reset(buf, offset, len);
    return nbl;
  }

  /** NdisFreeNetBufferList (<= DISPATCH_LEVEL): only an NBL its caller holds (not indicated, not in a send). */
  freeNetBufferList(netBufferList: NetBufferList): void {
    const api = 'NdisFreeNetBufferList';
    requireNdisIrqlIfInRoutine(this.kernel, api);
    if (netBufferList.owner !== 'allocated') {
      this.violation(NdisViolation.NBL_NOT_OWNED, api, `${api}(NBL ${netBufferList.id} of ${netBufferList.pool.tag}) while it is ${ownerText(netBufferList.owner)}`, netBufferList.id);
      return;
    }
    netBufferList.pool.put(netBufferList);
  }

  // ================================================================ receive, send, status (miniport → NDIS)

  /**
   * NdisMIndicateReceiveNetBufferLists (<= DISPATCH_LEVEL). Without NDIS_RECEIVE_FLAGS_RESOURCES the
   * protocol owns the chain until it returns it (MiniportReturnNetBufferLists); with it, the NBLs are
   * the miniport's again when this resolves. `numberOfNetBufferLists` must match the chain.
   * Only the default port (NDIS_DEFAULT_PORT_NUMBER, 0) exists here, so the port number is not used.
   */
  async indicateReceiveNetBufferLists(adapterHandle: MiniportAdapter, netBufferLists: NetBufferList, portNumber: number, numberOfNetBufferLists: number, receiveFlags: number): Promise<void> {
    const api = 'NdisMIndicateReceiveNetBufferLists';
    void portNumber;
    requireNdisIrql(this.kernel, api);
    this.checkAdapter(adapterHandle, api);
    this.checkDispatchFlag(receiveFlags & NdisReceiveFlags.DISPATCH_LEVEL, api, adapterHandle);
    if (adapterHandle.state !== 'running' && adapterHandle.state !== 'pausing') {
      ndisBugCheck(this.kernel, NdisViolation.INDICATION_WHILE_NOT_RUNNING, api, `${api}(${adapterHandle.name}) while the adapter is ${adapterHandle.state}`, adapterHandle.id);
    }
    let n = 0;
    for (let nbl: NetBufferList | null = netBufferLists; nbl; nbl = nbl.next) {
      n++;
      if (nbl.owner === 'allocated') continue;
      if (nbl.owner === 'indicated' || nbl.owner === 'lent') {
        ndisBugCheck(this.kernel, NdisViolation.INDICATED_PACKET_IN_USE, api, `${api}(${adapterHandle.name}) with NBL ${nbl.id}, which the protocol still holds from an earlier indication`, adapterHandle.id, nbl.id);
      }
      ndisBugCheck(this.kernel, NdisViolation.NBL_NOT_OWNED, api, `${api}(${adapterHandle.name}) with NBL ${nbl.id}, which is ${ownerText(nbl.owner)}`, adapterHandle.id, nbl.id);
    }
    if (n !== numberOfNetBufferLists) {
      ndisBugCheck(this.kernel, NdisViolation.NBL_COUNT_MISMATCH, api, `${api}(${adapterHandle.name}): NumberOfNetBufferLists is ${numberOfNetBufferLists} but the chain has ${n}`, adapterHandle.id, numberOfNetBufferLists, n);
    }
    const resources = (receiveFlags & NdisReceiveFlags.RESOURCES) !== 0;
    const owner = resources ? 'lent' : 'indicated';
    for (let nbl: NetBufferList | null = netBufferLists; nbl; nbl = nbl.next) {
      nbl.owner = owner;
      nbl.indicatedBy = adapterHandle;
    }
    adapterHandle.statistics.receivesIndicated += n;
    if (!resources) adapterHandle.receivesOutstanding += n;
    const binding = adapterHandle.binding;
    try {
      if (binding) {
        const r = binding.receiveNetBufferLists(netBufferLists, n, receiveFlags, adapterHandle);
        if (r !== undefined) await r;
      } else {
        adapterHandle.statistics.receivesDropped += n;
      }
    } finally {
      if (resources) {
        for (let nbl: NetBufferList | null = netBufferLists; nbl; nbl = nbl.next) if (nbl.owner === 'lent') nbl.owner = 'allocated';
      }
    }
    if (!binding && !resources && !this.kernel.stopped) {
      const inDispatch = this.kernel.currentIrql() >= Irql.DISPATCH_LEVEL;
      await this.returnNetBufferLists(adapterHandle, netBufferLists, inDispatch ? NdisReturnFlags.DISPATCH_LEVEL : 0);
    }
  }

  /**
   * NdisMSendNetBufferListsComplete (<= DISPATCH_LEVEL): gives the chain back to the protocol; each
   * NBL's status says how its send went. Completing an NBL that is not in a send is a bug check.
   */
  sendNetBufferListsComplete(adapterHandle: MiniportAdapter, netBufferLists: NetBufferList, sendCompleteFlags: number): void {
    const api = 'NdisMSendNetBufferListsComplete';
    requireNdisIrql(this.kernel, api);
    this.checkAdapter(adapterHandle, api);
    this.checkDispatchFlag(sendCompleteFlags & NdisSendCompleteFlags.DISPATCH_LEVEL, api, adapterHandle);
    let n = 0;
    let failed = 0;
    for (let nbl: NetBufferList | null = netBufferLists; nbl; nbl = nbl.next) {
      if (nbl.owner !== 'sending' || nbl.sentTo !== adapterHandle) {
        ndisBugCheck(this.kernel, NdisViolation.NBL_NOT_OWNED, api,
          `${api}(${adapterHandle.name}) with NBL ${nbl.id}, which is ${nbl.owner === 'sending' ? 'in a send to another adapter' : ownerText(nbl.owner)} (completed twice?)`, adapterHandle.id, nbl.id);
      }
      n++;
      if (!ndisStatusSucceeded(nbl.status)) failed++;
    }
    for (let nbl: NetBufferList | null = netBufferLists; nbl; nbl = nbl.next) {
      nbl.owner = 'allocated';
      nbl.sentTo = null;
    }
    adapterHandle.sendsOutstanding -= n;
    adapterHandle.statistics.sendsCompleted += n;
    adapterHandle.statistics.sendsFailed += failed;
    adapterHandle.binding?.sendNetBufferListsComplete(netBufferLists, sendCompleteFlags, adapterHandle);
  }

  /**
   * NdisMIndicateStatusEx (<= DISPATCH_LEVEL). NDIS_STATUS_LINK_STATE carries an NdisLinkState:
   * the adapter's link state is updated and the indication reaches the bound protocol.
   */
  indicateStatusEx(adapterHandle: MiniportAdapter, statusIndication: NdisStatusIndication): void {
    const api = 'NdisMIndicateStatusEx';
    requireNdisIrql(this.kernel, api);
    this.checkAdapter(adapterHandle, api);
    if (statusIndication.sourceHandle !== undefined && statusIndication.sourceHandle !== adapterHandle) {
      ndisBugCheck(this.kernel, NdisViolation.INVALID_HANDLE, api, `${api}(${adapterHandle.name}): SourceHandle is another adapter`, adapterHandle.id);
    }
    if (statusIndication.statusCode === NdisStatus.LINK_STATE) {
      const ls = statusIndication.buffer as NdisLinkState | undefined;
      if (!isLinkState(ls)) {
        ndisBugCheck(this.kernel, NdisViolation.BAD_RETURN_VALUE, api, `${api}(${adapterHandle.name}): NDIS_STATUS_LINK_STATE needs an NDIS_LINK_STATE buffer { mediaConnectState, mediaDuplexState, xmitLinkSpeed, rcvLinkSpeed }`, adapterHandle.id);
      }
      adapterHandle.linkState = { ...ls };
    }
    adapterHandle.statistics.statusIndications++;
    this.kernel.trace.record('ndis', `${api} ${adapterHandle.name} ${ndisStatusName(statusIndication.statusCode)}`, this.kernel.current()?.processor.index);
    const indication: NdisStatusIndication = { ...statusIndication, sourceHandle: adapterHandle };
    adapterHandle.binding?.statusIndication(indication, adapterHandle);
    this.emit('status', adapterHandle, indication);
  }

  /** NdisMOidRequestComplete (<= DISPATCH_LEVEL): completes the request MiniportOidRequest pended. */
  oidRequestComplete(adapterHandle: MiniportAdapter, oidRequest: NdisOidRequest, status: NDIS_STATUS): void {
    const api = 'NdisMOidRequestComplete';
    requireNdisIrql(this.kernel, api);
    this.checkAdapter(adapterHandle, api);
    const pending = adapterHandle.pendingOid;
    if (!pending || pending.request !== oidRequest || status === NdisStatus.PENDING) {
      ndisBugCheck(this.kernel, NdisViolation.INVALID_OID_COMPLETION, api, `${api}(${adapterHandle.name}, ${oidName(oidRequest.oid)}) for a request that is not pending${status === NdisStatus.PENDING ? ' (status NDIS_STATUS_PENDING)' : ''}`, adapterHandle.id, oidRequest.requestId);
    }
    adapterHandle.pendingOid = null;
    pending.resolve(status);
  }

  /** NdisMPauseComplete (<= DISPATCH_LEVEL): completes a pended MiniportPause. */
  pauseComplete(adapterHandle: MiniportAdapter): void {
    const api = 'NdisMPauseComplete';
    requireNdisIrql(this.kernel, api);
    this.checkAdapter(adapterHandle, api);
    const resolve = adapterHandle.pendingPause;
    if (!resolve) ndisBugCheck(this.kernel, NdisViolation.ILLEGAL_MINIPORT_STATE_TRANSITION, api, `${api}(${adapterHandle.name}) with no pause pending`, StateTransition.PAUSE_COMPLETE, adapterHandle.id);
    adapterHandle.pendingPause = null;
    resolve(NdisStatus.SUCCESS);
  }

  /** NdisMRestartComplete (<= DISPATCH_LEVEL): completes a pended MiniportRestart. */
  restartComplete(adapterHandle: MiniportAdapter, status: NDIS_STATUS): void {
    const api = 'NdisMRestartComplete';
    requireNdisIrql(this.kernel, api);
    this.checkAdapter(adapterHandle, api);
    const resolve = adapterHandle.pendingRestart;
    if (!resolve) ndisBugCheck(this.kernel, NdisViolation.ILLEGAL_MINIPORT_STATE_TRANSITION, api, `${api}(${adapterHandle.name}) with no restart pending`, StateTransition.RESTART_COMPLETE, adapterHandle.id);
    adapterHandle.pendingRestart = null;
    resolve(status);
  }

  // ================================================================ host side: NDIS calling the miniport

  /**
   * Start an adapter: MiniportInitializeEx at PASSIVE_LEVEL (it must set its registration and
   * general attributes), then (by default) MiniportRestart. Resolves with the adapter in Running
   * (or Paused with restart: false); rejects with NdisOperationError if initialization fails.
   */
  async initializeMiniport(driver: MiniportDriver, resources: AdapterResources, opts: InitializeMiniportOptions = {}): Promise<MiniportAdapter> {
    this.requireHost('initializeMiniport');
    if (driver.deregistered) throw new NdisError(`initializeMiniport: driver ${driver.name} is deregistered`, { driver: driver.name });
    const registers = new DeviceRegisters(this.kernel, resources.registers, {
      name: resources.name ?? driver.name, ...(resources.registerName ? { registerName: resources.registerName } : {}),
    });
    const adapter = new MiniportAdapter(driver, resources, registers);
    driver.adapters.add(adapter);
    this.adapters.add(adapter);
    if (opts.binding) adapter.binding = opts.binding;
    const ch = driver.characteristics;
    const initParameters = {
      allocatedResources: {
        registers, interruptLine: resources.interrupt.line,
        interruptIrql: resources.interrupt.irql ?? 5, memory: resources.memory, dma: resources.dma, macAddress: resources.macAddress,
      },
      ifIndex: adapter.id,
      netLuid: adapter.id,
    };
    let status: NDIS_STATUS;
    adapter.initializing = true;
    try {
      status = await this.kernel.runAtPassive('MiniportInitializeEx', () => ch.initializeHandlerEx(adapter, driver.driverContext, initParameters));
    } finally {
      adapter.initializing = false;
    }
    this.checkStatusValue(status, 'MiniportInitializeEx', adapter, false);
    if (ndisStatusSucceeded(status) && (!adapter.registrationAttributes || !adapter.generalAttributes)) {
      this.log.warn({ adapter: adapter.name }, 'MiniportInitializeEx succeeded without setting registration and general attributes; NDIS fails the initialization');
      status = NdisStatus.FAILURE;
    }
    if (!ndisStatusSucceeded(status)) {
      adapter.state = 'halted';
      this.checkReleasedAfter(adapter, 'MiniportInitializeEx (failed)', true);
      throw new NdisOperationError(`MiniportInitializeEx(${adapter.name}) failed with ${ndisStatusName(status)}`, status, { adapter: adapter.name });
    }
    adapter.state = 'paused';
    this.kernel.trace.record('ndis', `${adapter.name} initialized (Paused)`);
    if (opts.restart ?? true) await this.restartMiniport(adapter);
    return adapter;
  }

  /** Bind (or replace) the protocol side of an adapter. */
  bindProtocol(adapter: MiniportAdapter, binding: ProtocolBinding | null): void {
    adapter.binding = binding;
  }

  /** MiniportRestart at PASSIVE_LEVEL (Paused → Running); a pended restart completes with NdisMRestartComplete. */
  async restartMiniport(adapter: MiniportAdapter): Promise<void> {
    this.requireHost('restartMiniport');
    if (adapter.state !== 'paused') throw new NdisError(`restartMiniport(${adapter.name}) in state ${adapter.state}; only a Paused adapter restarts`, { adapter: adapter.name });
    adapter.state = 'restarting';
    const handler = adapter.driver.characteristics.restartHandler;
    let status: NDIS_STATUS = NdisStatus.SUCCESS;
    if (handler) {
      const completed = new Promise<NDIS_STATUS>((resolve) => { adapter.pendingRestart = resolve; });
      status = await this.kernel.runAtPassive('MiniportRestart', () => handler(adapter.context, { flags: 0 }));
      this.checkStatusValue(status, 'MiniportRestart', adapter, true);
      if (status === NdisStatus.PENDING) status = await this.waitForCompletion(completed);
      else adapter.pendingRestart = null;
    }
    if (!ndisStatusSucceeded(status)) {
      adapter.state = 'paused';
      throw new NdisOperationError(`MiniportRestart(${adapter.name}) failed with ${ndisStatusName(status)}`, status, { adapter: adapter.name });
    }
    adapter.state = 'running';
  }

  /**
   * MiniportPause at PASSIVE_LEVEL (Running → Paused). NDIS stops sending first; the pause completes
   * (at once, or with NdisMPauseComplete) only with every send completed and every indicated NBL
   * returned, else BUGCODE_NDIS_DRIVER.
   */
  async pauseMiniport(adapter: MiniportAdapter): Promise<void> {
    this.requireHost('pauseMiniport');
    if (adapter.state !== 'running') throw new NdisError(`pauseMiniport(${adapter.name}) in state ${adapter.state}; only a Running adapter pauses`, { adapter: adapter.name });
    adapter.state = 'pausing';
    const handler = adapter.driver.characteristics.pauseHandler;
    if (handler) {
      const completed = new Promise<NDIS_STATUS>((resolve) => { adapter.pendingPause = resolve; });
      const status = await this.kernel.runAtPassive('MiniportPause', () => handler(adapter.context, { flags: 0, pauseReason: 0 }));
      this.checkStatusValue(status, 'MiniportPause', adapter, true);
      if (status === NdisStatus.PENDING) await this.waitForCompletion(completed);
      else adapter.pendingPause = null;
    }
    if (adapter.sendsOutstanding > 0 || adapter.receivesOutstanding > 0) {
      ndisBugCheck(this.kernel, NdisViolation.PAUSE_WITH_OUTSTANDING_NBLS, 'MiniportPause',
        `MiniportPause(${adapter.name}) completed with ${adapter.sendsOutstanding} sends not completed and ${adapter.receivesOutstanding} receive indications not returned`,
        adapter.id, adapter.sendsOutstanding, adapter.receivesOutstanding);
    }
    adapter.state = 'paused';
  }

  /**
   * MiniportHaltEx at PASSIVE_LEVEL (pausing a running adapter first, as NDIS does). Afterwards
   * the miniport must have deregistered its interrupt (BUGCODE_NDIS_DRIVER 0x08 otherwise) and freed
   * the NBL pools it allocated with this adapter as owner.
   */
  async haltMiniport(adapter: MiniportAdapter, haltAction: NdisHaltActionValue = NdisHaltAction.DeviceDisabled): Promise<void> {
    this.requireHost('haltMiniport');
    if (adapter.halted) throw new NdisError(`haltMiniport(${adapter.name}): already halted`, { adapter: adapter.name });
    if (adapter.state === 'running') await this.pauseMiniport(adapter);
    if (adapter.state !== 'paused') throw new NdisError(`haltMiniport(${adapter.name}) in state ${adapter.state}`, { adapter: adapter.name });
    adapter.state = 'halting';
    const ch = adapter.driver.characteristics;
    await this.kernel.runAtPassive('MiniportHaltEx', () => ch.haltHandlerEx(adapter.context, haltAction));
    adapter.state = 'halted';
    this.checkReleasedAfter(adapter, 'MiniportHaltEx', false);
    adapter.driver.adapters.delete(adapter);
    this.adapters.delete(adapter);
    this.kernel.trace.record('ndis', `${adapter.name} halted`);
  }

  /** MiniportShutdownEx (NdisShutdownPowerOff, PASSIVE_LEVEL), if the miniport has one. */
  async shutdownMiniport(adapter: MiniportAdapter): Promise<void> {
    this.requireHost('shutdownMiniport');
    const handler = adapter.driver.characteristics.shutdownHandlerEx;
    if (!handler || adapter.halted) return;
    await this.kernel.runAtPassive('MiniportShutdownEx', () => handler(adapter.context, NdisShutdownAction.PowerOff));
  }

  /**
   * NdisSendNetBufferLists from the protocol: MiniportSendNetBufferLists at DISPATCH_LEVEL. While the
   * adapter is not Running, NDIS completes the chain itself with NDIS_STATUS_PAUSED. Resolves when
   * the send handler returns (completion comes later through the binding).
   */
  async sendNetBufferLists(adapter: MiniportAdapter, netBufferLists: NetBufferList, portNumber = 0, sendFlags = 0): Promise<void> {
    const binding = adapter.binding;
    if (!binding) throw new NdisError(`sendNetBufferLists(${adapter.name}): no protocol bound to receive the completions`, { adapter: adapter.name });
    let n = 0;
    for (let nbl: NetBufferList | null = netBufferLists; nbl; nbl = nbl.next) {
      if (nbl.owner !== 'allocated') throw new NdisError(`sendNetBufferLists(${adapter.name}): NBL ${nbl.id} is ${ownerText(nbl.owner)}`, { adapter: adapter.name, nbl: nbl.id });
      n++;
    }
    if (adapter.state !== 'running') {
      for (let nbl: NetBufferList | null = netBufferLists; nbl; nbl = nbl.next) nbl.status = NdisStatus.PAUSED;
      adapter.statistics.sendsRefusedPaused += n;
      binding.sendNetBufferListsComplete(netBufferLists, 0, adapter);
      return;
    }
    for (let nbl: NetBufferList | null = netBufferLists; nbl; nbl = nbl.next) {
      nbl.owner = 'sending';
      nbl.sentTo = adapter;
      nbl.status = NdisStatus.SUCCESS;
    }
    adapter.sendsOutstanding += n;
    adapter.statistics.sendsRequested += n;
    const handler = adapter.driver.characteristics.sendNetBufferListsHandler;
    await this.runAtDispatch('MiniportSendNetBufferLists', () => handler(adapter.context, netBufferLists, portNumber, sendFlags | NdisSendFlags.DISPATCH_LEVEL));
  }

  /**
   * NdisReturnNetBufferLists from the protocol: hands indicated NBLs back through
   * MiniportReturnNetBufferLists, at the caller's IRQL inside a routine, else at DISPATCH_LEVEL.
   */
  async returnNetBufferLists(adapter: MiniportAdapter, netBufferLists: NetBufferList, returnFlags = 0): Promise<void> {
    let n = 0;
    for (let nbl: NetBufferList | null = netBufferLists; nbl; nbl = nbl.next) {
      if (nbl.owner !== 'indicated' || nbl.indicatedBy !== adapter) {
        throw new NdisError(`returnNetBufferLists(${adapter.name}): NBL ${nbl.id} is ${nbl.owner === 'lent' ? 'indicated with NDIS_RECEIVE_FLAGS_RESOURCES (never returned)' : ownerText(nbl.owner)}`, { adapter: adapter.name, nbl: nbl.id });
      }
      n++;
    }
    for (let nbl: NetBufferList | null = netBufferLists; nbl; nbl = nbl.next) {
      nbl.owner = 'allocated';
      nbl.indicatedBy = null;
    }
    adapter.receivesOutstanding -= n;
    adapter.statistics.receivesReturned += n;
    const handler = adapter.driver.characteristics.returnNetBufferListsHandler;
    if (inRoutine(this.kernel)) {
      const atDispatch = this.kernel.currentIrql() >= Irql.DISPATCH_LEVEL;
      await this.kernel.callRoutine('MiniportReturnNetBufferLists', () => handler(adapter.context, netBufferLists, returnFlags | (atDispatch ? NdisReturnFlags.DISPATCH_LEVEL : 0)));
      return;
    }
    await this.runAtDispatch('MiniportReturnNetBufferLists', () => handler(adapter.context, netBufferLists, returnFlags | NdisReturnFlags.DISPATCH_LEVEL));
  }

  /**
   * NdisOidRequest from the protocol: MiniportOidRequest at PASSIVE_LEVEL, one request at a time;
   * a pended request completes with NdisMOidRequestComplete. Resolves with the final status and the
   * request (a query's answer is in request.informationBuffer).
   */
  oidRequest(adapter: MiniportAdapter, input: OidRequestInput): Promise<{ status: NDIS_STATUS; request: NdisOidRequest }> {
    this.requireHost('oidRequest');
    const request: NdisOidRequest = {
      requestType: input.requestType, oid: input.oid, portNumber: input.portNumber ?? 0,
      informationBuffer: input.informationBuffer, informationBufferLength: input.informationBufferLength ?? 0,
      bytesWritten: 0, bytesRead: 0, bytesNeeded: 0, requestId: nextRequestId++,
    };
    const run = async (): Promise<{ status: NDIS_STATUS; request: NdisOidRequest }> => {
      if (adapter.halted || adapter.state === 'initializing' || adapter.state === 'halting') {
        throw new NdisError(`oidRequest(${adapter.name}, ${oidName(input.oid)}) in state ${adapter.state}`, { adapter: adapter.name });
      }
      const handler = adapter.driver.characteristics.oidRequestHandler;
      const completed = new Promise<NDIS_STATUS>((resolve) => { adapter.pendingOid = { request, resolve }; });
      let status = await this.kernel.runAtPassive('MiniportOidRequest', () => handler(adapter.context, request));
      this.checkStatusValue(status, 'MiniportOidRequest', adapter, true);
      if (status === NdisStatus.PENDING) status = await this.waitForCompletion(completed);
      else adapter.pendingOid = null;
      return { status, request };
    };
    const result = adapter.oidChain.then(run, run);
    adapter.oidChain = result.catch(() => undefined);
    return result;
  }

  /** An OID query; resolves with the miniport's answer, rejects with NdisOperationError on a failure status. */
  async queryInformation<T = unknown>(adapter: MiniportAdapter, oid: number): Promise<T> {
    const { status, request } = await this.oidRequest(adapter, { requestType: NdisRequestType.QueryInformation, oid });
    if (!ndisStatusSucceeded(status)) throw new NdisOperationError(`query ${oidName(oid)} on ${adapter.name} failed with ${ndisStatusName(status)}`, status, { adapter: adapter.name, oid });
    return request.informationBuffer as T;
  }

  /** An OID set; rejects with NdisOperationError on a failure status. */
  async setInformation(adapter: MiniportAdapter, oid: number, value: unknown, length = 0): Promise<void> {
    const { status } = await this.oidRequest(adapter, { requestType: NdisRequestType.SetInformation, oid, informationBuffer: value, informationBufferLength: length });
    if (!ndisStatusSucceeded(status)) throw new NdisOperationError(`set ${oidName(oid)} on ${adapter.name} failed with ${ndisStatusName(status)}`, status, { adapter: adapter.name, oid });
  }

  /** MiniportDisableInterruptEx at DIRQL under the interrupt lock (NDIS' diagnostics path). */
  async disableInterrupt(interrupt: NdisInterrupt): Promise<void> {
    this.requireHost('disableInterrupt');
    const handler = interrupt.characteristics.disableInterruptHandler;
    if (!handler || interrupt.deregistered) return;
    await this.kernel.runAtPassive('NDIS', () => this.kernel.synchronizeExecution(interrupt.kernelInterrupt, named('MiniportDisableInterruptEx', async (ctx) => { await handler(ctx); return true; }), interrupt.context));
  }

  /** MiniportEnableInterruptEx at DIRQL under the interrupt lock. */
  async enableInterrupt(interrupt: NdisInterrupt): Promise<void> {
    this.requireHost('enableInterrupt');
    const handler = interrupt.characteristics.enableInterruptHandler;
    if (!handler || interrupt.deregistered) return;
    await this.kernel.runAtPassive('NDIS', () => this.kernel.synchronizeExecution(interrupt.kernelInterrupt, named('MiniportEnableInterruptEx', async (ctx) => { await handler(ctx); return true; }), interrupt.context));
  }

  // ================================================================ checks

  private checkAdapter(adapter: MiniportAdapter, api: string): void {
    if (!(adapter instanceof MiniportAdapter) || adapter.halted) {
      ndisBugCheck(this.kernel, NdisViolation.INVALID_HANDLE, api, `${api} with ${adapter instanceof MiniportAdapter ? `halted adapter ${adapter.name}` : 'an invalid MiniportAdapterHandle'}`,
        adapter instanceof MiniportAdapter ? adapter.id : 0);
    }
  }

  private checkInterrupt(handle: NdisInterrupt, api: string): void {
    if (!(handle instanceof NdisInterrupt) || handle.deregistered) {
      ndisBugCheck(this.kernel, NdisViolation.INVALID_HANDLE, api, `${api} with ${handle instanceof NdisInterrupt ? 'a deregistered' : 'an invalid'} NdisInterruptHandle`,
        handle instanceof NdisInterrupt ? handle.adapter.id : 0, handle instanceof NdisInterrupt ? handle.id : 0);
    }
  }

  private checkPool(pool: NetBufferListPool, api: string): void {
    if (!(pool instanceof NetBufferListPool) || pool.freed) {
      this.violation(NdisViolation.INVALID_HANDLE, api, `${api} with ${pool instanceof NetBufferListPool ? `freed pool ${pool.tag}` : 'an invalid pool handle'}`, pool instanceof NetBufferListPool ? pool.id : 0);
    }
  }

  /** A *_DISPATCH_LEVEL flag claims DISPATCH_LEVEL: below it NDIS would take its locks wrongly. */
  private checkDispatchFlag(flag: number, api: string, adapter: MiniportAdapter): void {
    if (flag && this.kernel.currentIrql() < Irql.DISPATCH_LEVEL) {
      ndisBugCheck(this.kernel, NdisViolation.DISPATCH_FLAG_BELOW_DISPATCH, api, `${api}(${adapter.name}) with the DISPATCH_LEVEL flag at IRQL ${this.kernel.currentIrql()}`, adapter.id, this.kernel.currentIrql());
    }
  }

  private checkStatusValue(status: unknown, handler: string, adapter: MiniportAdapter, pendingAllowed: boolean): void {
    if (typeof status === 'number' && Number.isInteger(status) && (pendingAllowed || status !== NdisStatus.PENDING)) return;
    ndisBugCheck(this.kernel, NdisViolation.BAD_RETURN_VALUE, handler, `${handler}(${adapter.name}) returned ${String(status)}${pendingAllowed ? '' : ' (it cannot pend)'}; it must return an NDIS_STATUS`, adapter.id);
  }

  /** After halt or a failed initialize: the interrupt deregistered, the adapter's pools and timers freed. */
  private checkReleasedAfter(adapter: MiniportAdapter, what: string, failedInit: boolean): void {
    this.checkTimersAfter(adapter, what, true, failedInit);
    const irq = adapter.interrupt;
    if (irq && !irq.deregistered) {
      // NDIS disconnects it itself so that the host can go on, then stops the driver.
      irq.deregistered = true;
      ndisBugCheck(this.kernel, failedInit ? NdisViolation.INTERRUPT_NOT_DEREGISTERED_AT_FAILED_INIT : NdisViolation.INTERRUPT_NOT_DEREGISTERED_AT_HALT, what,
        `${what} returned for ${adapter.name} without NdisMDeregisterInterruptEx: the interrupt on line ${irq.kernelInterrupt.line} is still connected`, adapter.id, irq.id);
    }
    const pools = [...adapter.pools];
    if (pools.length > 0) {
      ndisBugCheck(this.kernel, NdisViolation.POOL_FREED_WITH_OUTSTANDING_NBLS, what,
        `${what} returned for ${adapter.name} without NdisFreeNetBufferListPool for ${pools.map((p) => `${p.tag} (${p.inUse} in use)`).join(', ')}`, adapter.id, pools.length);
    }
  }

  /** Wait for a completion the miniport owes (NdisMXxxComplete), or for the driver to stop. */
  private async waitForCompletion(completed: Promise<NDIS_STATUS>): Promise<NDIS_STATUS> {
    const stopped = this.kernel.bugCheckReport.then(() => { throw this.kernel.stopped; });
    return Promise.race([completed, stopped]);
  }

  /** A rule broken by driver code is a bug check; by host code (no routine), a thrown NdisError. */
  private violation(code: number, api: string, message: string, p2 = 0, p3 = 0): void {
    if (inRoutine(this.kernel)) ndisBugCheck(this.kernel, code, api, message, p2, p3);
    throw new NdisError(message, { api, violation: code });
  }
}

function ownerText(owner: NetBufferList['owner']): string {
  switch (owner) {
    case 'free': return 'free (back in its pool)';
    case 'allocated': return 'held by its allocator';
    case 'indicated': return 'indicated to the protocol and not returned';
    case 'lent': return 'being indicated with NDIS_RECEIVE_FLAGS_RESOURCES';
    case 'sending': return 'in a send not completed yet';
  }
}

function isLinkState(v: unknown): v is NdisLinkState {
  if (v === null || typeof v !== 'object') return false;
  const ls = v as Record<string, unknown>;
  const states: number[] = Object.values(MediaConnectState);
  const duplex: number[] = Object.values(MediaDuplexState);
  return states.includes(ls.mediaConnectState as number) && duplex.includes(ls.mediaDuplexState as number)
    && typeof ls.xmitLinkSpeed === 'number' && typeof ls.rcvLinkSpeed === 'number';
}
