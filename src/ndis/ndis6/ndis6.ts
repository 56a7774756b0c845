import { DeviceRegisters, Irql, isThenable } from '../../kernel/index.ts';
import { NdisViolation, ndisBugCheck } from '../common/bugcheck.ts';
import { NdisError, NdisOperationError } from '../common/errors.ts';
import type { ReleaseRules } from '../common/framework.ts';
import { named } from '../common/named.ts';
import { inRoutine } from '../common/irql-rules.ts';
import { NdisRequestType, oidName } from '../common/oids.ts';
import { NdisDevicePnPEvent, type NetDevicePnPEvent } from '../common/pnp.ts';
import { NdisStatus, ndisStatusName, ndisStatusSucceeded, type NDIS_STATUS } from '../common/status.ts';
import { MiniportAdapter } from './adapter.ts';
import { Ndis6IndicationApi } from './api-indicate.ts';
import type { MiniportDriver } from './driver.ts';
import type { NdisInterrupt } from './interrupt.ts';
import { nblOwnerText, type NetBufferList } from './net-buffer-list.ts';
import {
  NdisHaltAction,
  NdisReturnFlags,
  NdisSendFlags,
  NdisShutdownAction,
  type AdapterResources,
  type NdisHaltActionValue,
  type NdisOidRequest,
  type ProtocolBinding,
} from './types.ts';

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

let nextRequestId = 1;

/** What MiniportHaltEx and a failed MiniportInitializeEx must have released. */
const RELEASE_RULES: ReleaseRules = { deregisterInterrupt: 'NdisMDeregisterInterruptEx', freePool: 'NdisFreeNetBufferListPool', timersMustBeFreed: true };

/**
 * The NDIS 6.x facade: the NDIS library an NDIS 6 miniport calls (`Ndis6Library`: api-core.ts,
 * api-interrupt.ts, api-nbl.ts, api-indicate.ts), and here the host side of NDIS (initializing,
 * pausing, restarting and halting adapters, sending, returning receives, OID requests) that calls
 * the miniport's handlers at the IRQL Windows uses. The host-side calls refuse to run from driver
 * code; a miniport given an `Ndis6Library` cannot name them at all.
 *
 * Events: 'poolExhausted' (PoolExhaustedEvent), 'status' (adapter, NdisStatusIndication).
 */
export class Ndis6 extends Ndis6IndicationApi {
  /**
   * Start an adapter: MiniportInitializeEx at PASSIVE_LEVEL (it must set its registration and
   * general attributes), then (by default) MiniportRestart. Resolves with the adapter in Running
   * (or Paused with restart: false); rejects with NdisOperationError if initialization fails.
   */
  async initializeMiniport(driver: MiniportDriver, resources: AdapterResources, opts: InitializeMiniportOptions = {}): Promise<MiniportAdapter> {
    this.requireHost('initializeMiniport');
    if (driver.deregistered) throw new NdisError(`initializeMiniport: driver ${driver.name} is deregistered`, { driver: driver.name });
    const registers = new DeviceRegisters(this.kernel, resources.registers, {
      name: resources.name ?? driver.name,
      ...(resources.registerName ? { registerName: resources.registerName } : {}),
    });
    const adapter = new MiniportAdapter(driver, resources, registers);
    driver.adapters.add(adapter);
    this.adapters.add(adapter);
    if (opts.binding) adapter.binding = opts.binding;
    const ch = driver.characteristics;
    const initParameters = {
      allocatedResources: {
        registers,
        interruptLine: resources.interrupt.line,
        interruptIrql: resources.interrupt.irql ?? 5,
        memory: resources.memory,
        dma: resources.dma,
        macAddress: resources.macAddress,
      },
      ifIndex: adapter.id,
      netLuid: adapter.id,
    };
    let status: NDIS_STATUS;
    adapter.initializing = true;
    try {
      status = await this.runPnpHandler('MiniportInitializeEx', () => ch.initializeHandlerEx(adapter, driver.driverContext, initParameters));
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
      this.checkReleasedAfter(adapter, 'MiniportInitializeEx (failed)', true, RELEASE_RULES);
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
      const completed = new Promise<NDIS_STATUS>((resolve) => {
        adapter.pendingRestart = resolve;
      });
      status = await this.runPnpHandler('MiniportRestart', () => handler(adapter.context, { flags: 0 }));
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
      const completed = new Promise<NDIS_STATUS>((resolve) => {
        adapter.pendingPause = resolve;
      });
      const status = await this.runPnpHandler('MiniportPause', () => handler(adapter.context, { flags: 0, pauseReason: 0 }));
      this.checkStatusValue(status, 'MiniportPause', adapter, true);
      if (status === NdisStatus.PENDING) await this.waitForCompletion(completed);
      else adapter.pendingPause = null;
    }
    if (adapter.sendsOutstanding > 0 || adapter.receivesOutstanding > 0) {
      ndisBugCheck(
        this.kernel,
        NdisViolation.PAUSE_WITH_OUTSTANDING_NBLS,
        'MiniportPause',
        `MiniportPause(${adapter.name}) completed with ${adapter.sendsOutstanding} sends not completed and ${adapter.receivesOutstanding} receive indications not returned`,
        adapter.id,
        adapter.sendsOutstanding,
        adapter.receivesOutstanding,
      );
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
    await this.runPnpHandler('MiniportHaltEx', () => ch.haltHandlerEx(adapter.context, haltAction));
    adapter.state = 'halted';
    this.checkReleasedAfter(adapter, 'MiniportHaltEx', false, RELEASE_RULES);
    adapter.driver.adapters.delete(adapter);
    this.adapters.delete(adapter);
    this.kernel.trace.record('ndis', `${adapter.name} halted`);
  }

  /**
   * The device was surprise-removed (IRP_MN_SURPRISE_REMOVAL, then IRP_MN_REMOVE_DEVICE):
   * MiniportDevicePnPEventNotify with NdisDevicePnPEventSurpriseRemoved at PASSIVE_LEVEL, if the
   * miniport has one, then the halt with NdisHaltDeviceSurpriseRemoved (pausing a running adapter
   * first, as NDIS does).
   */
  async surpriseRemoveMiniport(adapter: MiniportAdapter): Promise<void> {
    this.requireHost('surpriseRemoveMiniport');
    if (adapter.halted) throw new NdisError(`surpriseRemoveMiniport(${adapter.name}): already halted`, { adapter: adapter.name });
    this.kernel.trace.record('ndis', `${adapter.name} surprise-removed`);
    const notify = adapter.driver.characteristics.devicePnPEventNotifyHandler;
    if (notify) {
      const event: NetDevicePnPEvent = { portNumber: 0, devicePnPEvent: NdisDevicePnPEvent.SurpriseRemoved, informationBuffer: null, informationBufferLength: 0 };
      await this.runPnpHandler('MiniportDevicePnPEventNotify', () => notify(adapter.context, event));
    }
    await this.haltMiniport(adapter, NdisHaltAction.DeviceSurpriseRemoved);
  }

  /** MiniportShutdownEx (NdisShutdownPowerOff, PASSIVE_LEVEL), if the miniport has one. */
  async shutdownMiniport(adapter: MiniportAdapter): Promise<void> {
    this.requireHost('shutdownMiniport');
    const handler = adapter.driver.characteristics.shutdownHandlerEx;
    if (!handler || adapter.halted) return;
    await this.runPnpHandler('MiniportShutdownEx', () => handler(adapter.context, NdisShutdownAction.PowerOff));
  }

  /**
   * NdisSendNetBufferLists from the protocol: MiniportSendNetBufferLists at DISPATCH_LEVEL. While the
   * adapter is not Running, NDIS completes the chain itself with NDIS_STATUS_PAUSED. Resolves when
   * the send handler returns (completion comes later through the binding).
   */
  async sendNetBufferLists(adapter: MiniportAdapter, netBufferLists: NetBufferList, portNumber = 0, sendFlags = 0): Promise<void> {
    await this.sendNetBufferListsInline(adapter, netBufferLists, portNumber, sendFlags);
  }

  /**
   * sendNetBufferLists for a protocol's hot path (the upper edge's send pump): the same call, but
   * undefined rather than a promise when the miniport's send handler returned without waiting,
   * called from a routine at DISPATCH_LEVEL. Errors reject, as sendNetBufferLists' do.
   */
  sendNetBufferListsInline(adapter: MiniportAdapter, netBufferLists: NetBufferList, portNumber = 0, sendFlags = 0): Promise<void> | undefined {
    try {
      const handled = this.submitSend(adapter, netBufferLists, portNumber, sendFlags);
      return isThenable(handled) ? Promise.resolve(handled) : undefined;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private submitSend(adapter: MiniportAdapter, netBufferLists: NetBufferList, portNumber: number, sendFlags: number): Promise<void> | void {
    const binding = adapter.binding;
    if (!binding) throw new NdisError(`sendNetBufferLists(${adapter.name}): no protocol bound to receive the completions`, { adapter: adapter.name });
    let n = 0;
    for (let nbl: NetBufferList | null = netBufferLists; nbl; nbl = nbl.next) {
      if (nbl.owner !== 'allocated')
        throw new NdisError(`sendNetBufferLists(${adapter.name}): NBL ${nbl.id} is ${nblOwnerText(nbl.owner)}`, { adapter: adapter.name, nbl: nbl.id });
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
    return this.runAtDispatchInline('MiniportSendNetBufferLists', () => handler(adapter.context, netBufferLists, portNumber, sendFlags | NdisSendFlags.DISPATCH_LEVEL));
  }

  /**
   * NdisReturnNetBufferLists from the protocol: hands indicated NBLs back through
   * MiniportReturnNetBufferLists, at the caller's IRQL inside a routine, else at DISPATCH_LEVEL.
   */
  override async returnNetBufferLists(adapter: MiniportAdapter, netBufferLists: NetBufferList, returnFlags = 0): Promise<void> {
    let n = 0;
    for (let nbl: NetBufferList | null = netBufferLists; nbl; nbl = nbl.next) {
      if (nbl.owner !== 'indicated' || nbl.indicatedBy !== adapter) {
        throw new NdisError(
          `returnNetBufferLists(${adapter.name}): NBL ${nbl.id} is ${nbl.owner === 'lent' ? 'indicated with NDIS_RECEIVE_FLAGS_RESOURCES (never returned)' : nblOwnerText(nbl.owner)}`,
          { adapter: adapter.name, nbl: nbl.id },
        );
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
      await this.kernel.callRoutine('MiniportReturnNetBufferLists', () =>
        handler(adapter.context, netBufferLists, returnFlags | (atDispatch ? NdisReturnFlags.DISPATCH_LEVEL : 0)),
      );
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
      requestType: input.requestType,
      oid: input.oid,
      portNumber: input.portNumber ?? 0,
      informationBuffer: input.informationBuffer,
      informationBufferLength: input.informationBufferLength ?? 0,
      bytesWritten: 0,
      bytesRead: 0,
      bytesNeeded: 0,
      requestId: nextRequestId++,
    };
    const run = async (): Promise<{ status: NDIS_STATUS; request: NdisOidRequest }> => {
      if (adapter.halted || adapter.state === 'initializing' || adapter.state === 'halting') {
        throw new NdisError(`oidRequest(${adapter.name}, ${oidName(input.oid)}) in state ${adapter.state}`, { adapter: adapter.name });
      }
      const handler = adapter.driver.characteristics.oidRequestHandler;
      const completed = new Promise<NDIS_STATUS>((resolve) => {
        adapter.pendingOid = { request, resolve };
      });
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
    if (!ndisStatusSucceeded(status))
      throw new NdisOperationError(`query ${oidName(oid)} on ${adapter.name} failed with ${ndisStatusName(status)}`, status, { adapter: adapter.name, oid });
    return request.informationBuffer as T;
  }

  /** An OID set; rejects with NdisOperationError on a failure status. */
  async setInformation(adapter: MiniportAdapter, oid: number, value: unknown, length = 0): Promise<void> {
    const { status } = await this.oidRequest(adapter, { requestType: NdisRequestType.SetInformation, oid, informationBuffer: value, informationBufferLength: length });
    if (!ndisStatusSucceeded(status))
      throw new NdisOperationError(`set ${oidName(oid)} on ${adapter.name} failed with ${ndisStatusName(status)}`, status, { adapter: adapter.name, oid });
  }

  /** MiniportDisableInterruptEx at DIRQL under the interrupt lock (NDIS' diagnostics path). */
  async disableInterrupt(interrupt: NdisInterrupt): Promise<void> {
    this.requireHost('disableInterrupt');
    const handler = interrupt.characteristics.disableInterruptHandler;
    if (!handler || interrupt.deregistered) return;
    await this.kernel.runAtPassive('NDIS', () =>
      this.kernel.synchronizeExecution(
        interrupt.kernelInterrupt,
        named('MiniportDisableInterruptEx', async (ctx) => {
          await handler(ctx);
          return true;
        }),
        interrupt.context,
      ),
    );
  }

  /** MiniportEnableInterruptEx at DIRQL under the interrupt lock. */
  async enableInterrupt(interrupt: NdisInterrupt): Promise<void> {
    this.requireHost('enableInterrupt');
    const handler = interrupt.characteristics.enableInterruptHandler;
    if (!handler || interrupt.deregistered) return;
    await this.kernel.runAtPassive('NDIS', () =>
      this.kernel.synchronizeExecution(
        interrupt.kernelInterrupt,
        named('MiniportEnableInterruptEx', async (ctx) => {
          await handler(ctx);
          return true;
        }),
        interrupt.context,
      ),
    );
  }

  // ================================================================ checks

  private checkStatusValue(status: unknown, handler: string, adapter: MiniportAdapter, pendingAllowed: boolean): void {
    if (typeof status === 'number' && Number.isInteger(status) && (pendingAllowed || status !== NdisStatus.PENDING)) return;
    ndisBugCheck(
      this.kernel,
      NdisViolation.BAD_RETURN_VALUE,
      handler,
      `${handler}(${adapter.name}) returned ${String(status)}${pendingAllowed ? '' : ' (it cannot pend)'}; it must return an NDIS_STATUS`,
      adapter.id,
    );
  }
}
