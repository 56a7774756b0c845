import type { Kernel } from '../../kernel/index.ts';
import { NdisViolation, ndisBugCheck } from '../common/bugcheck.ts';
import { NdisCharacteristicsError, NdisError } from '../common/errors.ts';
import { NdisFramework } from '../common/framework.ts';
import { checkAdapterHandle } from '../common/handle-checks.ts';
import type { NdisTimer, NdisTimerFunction } from '../common/timer.ts';
import { requireNdisIrql, requireNdisIrqlIfInRoutine } from '../common/irql-rules.ts';
import { NdisStatus, type NDIS_STATUS } from '../common/status.ts';
import { MiniportAdapter } from './adapter.ts';
import { MiniportDriver } from './driver.ts';
import { NDIS_INDICATE_ALL_NBLS, type MiniportAdapterAttributes, type MiniportDriverCharacteristics } from './types.ts';

export interface Ndis6Options {
  /** MaxNblsToIndicate given to MiniportInterruptDPC. Default NDIS_INDICATE_ALL_NBLS. */
  maxNblsToIndicate?: number;
}

/**
 * The NDIS 6 library, first part: registering the miniport driver, NdisMSetMiniportAttributes and
 * timer objects, and the adapter-handle check every later part makes. The other parts build on it
 * (api-interrupt.ts, api-nbl.ts, api-indicate.ts), and `Ndis6` (ndis6.ts) adds the host side.
 */
export abstract class Ndis6CoreApi extends NdisFramework {
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
    if (live.length > 0)
      throw new NdisError(`NdisMDeregisterMiniportDriver(${driver.name}) with adapters not halted: ${live.map((a) => a.name).join(', ')}`, { driver: driver.name });
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
        mediaConnectState: attributes.mediaConnectState,
        mediaDuplexState: attributes.mediaDuplexState,
        xmitLinkSpeed: attributes.xmitLinkSpeed,
        rcvLinkSpeed: attributes.rcvLinkSpeed,
      };
      return NdisStatus.SUCCESS;
    }
    return NdisStatus.INVALID_PARAMETER;
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

  // ================================================================ time

  /** NdisGetSystemUpTimeEx (any IRQL): milliseconds since boot, as of the last clock tick. */
  getSystemUpTimeEx(): bigint {
    return this.kernel.queryInterruptTime() / 10_000n;
  }

  // ================================================================ checks

  /** MiniportAdapterHandle given by driver code: an adapter of this facade, not halted. */
  protected checkAdapter(adapter: MiniportAdapter, api: string): void {
    checkAdapterHandle(this.kernel, MiniportAdapter, adapter, api);
  }
}
