import type { Kernel } from '../../kernel/index.ts';
import { NdisViolation, ndisBugCheck } from '../common/bugcheck.ts';
import { NdisCharacteristicsError } from '../common/errors.ts';
import { NdisFramework } from '../common/framework.ts';
import { checkAdapterHandle } from '../common/handle-checks.ts';
import type { NdisTimer, NdisTimerFunction } from '../common/timer.ts';
import { requireNdisIrql, requireNdisIrqlIfInRoutine } from '../common/irql-rules.ts';
import { NdisStatus } from '../common/status.ts';
import { Ndis5Adapter, Ndis5Driver } from './adapter.ts';
import type { Ndis5MiniportCharacteristics } from './types.ts';

export interface SetAttributesExOptions {
  checkForHangTimeInSeconds?: number;
  /** NDIS_ATTRIBUTE_* (NdisAttribute). */
  attributeFlags?: number;
  interfaceType?: number;
}

/**
 * The NDIS 5 library, first part: NdisMRegisterMiniport, NdisMSetAttributesEx and the miniport
 * timers, and the adapter-handle check every later part makes. The other parts build on it
 * (api-interrupt.ts, api-packet.ts, api-indicate.ts), and `Ndis5` (ndis5.ts) adds the host side.
 */
export abstract class Ndis5CoreApi extends NdisFramework {
  readonly drivers = new Set<Ndis5Driver>();
  readonly adapters = new Set<Ndis5Adapter>();

  constructor(kernel: Kernel) {
    super(kernel, 'ndis5');
  }

  // ================================================================ registration and attributes

  /** NdisMRegisterMiniport (PASSIVE_LEVEL): throws NdisCharacteristicsError for a version that is not 5.x or a missing handler. */
  registerMiniport(characteristics: Ndis5MiniportCharacteristics): Ndis5Driver {
    requireNdisIrqlIfInRoutine(this.kernel, 'NdisMRegisterMiniport');
    const major = characteristics.majorNdisVersion ?? 5;
    if (major !== 5) throw new NdisCharacteristicsError(`NdisMRegisterMiniport: MajorNdisVersion ${major} is not 5`, NdisStatus.BAD_VERSION);
    for (const h of ['initializeHandler', 'haltHandler', 'sendPacketsHandler', 'queryInformationHandler', 'setInformationHandler'] as const) {
      if (typeof characteristics[h] !== 'function') throw new NdisCharacteristicsError(`NdisMRegisterMiniport: ${h} is required`, NdisStatus.BAD_CHARACTERISTICS, { handler: h });
    }
    const driver = new Ndis5Driver(characteristics);
    this.drivers.add(driver);
    return driver;
  }

  /** NdisMSetAttributesEx (PASSIVE_LEVEL, inside MiniportInitialize): gives NDIS the MiniportAdapterContext. */
  setAttributesEx(adapterHandle: Ndis5Adapter, miniportAdapterContext: unknown, opts: SetAttributesExOptions = {}): void {
    const api = 'NdisMSetAttributesEx';
    requireNdisIrql(this.kernel, api);
    this.checkAdapter(adapterHandle, api);
    if (!adapterHandle.initializing) ndisBugCheck(this.kernel, NdisViolation.BAD_ATTRIBUTES, api, `${api}(${adapterHandle.name}) outside MiniportInitialize`, adapterHandle.id);
    adapterHandle.context = miniportAdapterContext;
    adapterHandle.attributeFlags = opts.attributeFlags ?? 0;
    adapterHandle.checkForHangTimeInSeconds = opts.checkForHangTimeInSeconds ?? 2;
    adapterHandle.attributesSet = true;
  }

  // ================================================================ timers

  /** NdisMInitializeTimer (<= DISPATCH_LEVEL): the timer function runs at DISPATCH_LEVEL in a DPC. */
  initializeTimer(miniportAdapterHandle: Ndis5Adapter, timerFunction: NdisTimerFunction, functionContext?: unknown): NdisTimer {
    return this.createTimer('NdisMInitializeTimer', timerFunction, functionContext, miniportAdapterHandle);
  }

  /** NdisMSetTimer (<= DISPATCH_LEVEL): one shot after `millisecondsToDelay`. */
  setTimer(timer: NdisTimer, millisecondsToDelay: number): void {
    this.setNdisTimer('NdisMSetTimer', timer, millisecondsToDelay, 0);
  }

  /** NdisMSetPeriodicTimer (<= DISPATCH_LEVEL): every `millisecondPeriod`. */
  setPeriodicTimer(timer: NdisTimer, millisecondPeriod: number): void {
    this.setNdisTimer('NdisMSetPeriodicTimer', timer, millisecondPeriod, millisecondPeriod);
  }

  /** NdisMCancelTimer (<= DISPATCH_LEVEL): TimerCancelled, true if it was set. */
  cancelTimer(timer: NdisTimer): boolean {
    return this.cancelNdisTimer('NdisMCancelTimer', timer);
  }

  // ================================================================ time

  /** NdisGetSystemUpTime (any IRQL): milliseconds since boot as a ULONG (it wraps after 49.7 days), as of the last clock tick. */
  getSystemUpTime(): number {
    return Number((this.kernel.queryInterruptTime() / 10_000n) & 0xffff_ffffn);
  }

  // ================================================================ checks

  /** MiniportAdapterHandle given by driver code: an adapter of this facade, not halted. */
  protected checkAdapter(adapter: Ndis5Adapter, api: string): void {
    checkAdapterHandle(this.kernel, Ndis5Adapter, adapter, api);
  }
}
