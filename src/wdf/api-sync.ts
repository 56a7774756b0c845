import { Irql } from '../kernel/index.ts';
import { WdfCore, type SerializingParent } from './api-core.ts';
import { WdfStatusError } from './errors.ts';
import { type WDFOBJECT, type WdfObjectAttributes, type WDFSPINLOCK, type WDFTIMER, type WDFWAITLOCK, type WDFWORKITEM } from './handles.ts';
import { type CallbackLock, WdfSpinLockObject, WdfWaitLockObject } from './locks.ts';
import { type NTSTATUS, NtStatus } from './ntstatus.ts';
import { WdfTimerObject } from './timer.ts';
import { type WdfTimerConfig, type WdfWorkItemConfig } from './types.ts';
import { WdfWorkItemObject } from './work-item.ts';

/** Spin locks, wait locks, work items and timers (WdfSpinLock*, WdfWaitLock*, WdfWorkItem*, WdfTimer*). */
export class WdfSyncApi extends WdfCore {
  // ================================================================ locks

  /** WdfSpinLockCreate (<= DISPATCH_LEVEL). Parent: attributes.parentObject, else the driver. */
  wdfSpinLockCreate(attributes?: WdfObjectAttributes & { name?: string }): WDFSPINLOCK {
    const api = 'WdfSpinLockCreate';
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL);
    const parent = this.parentFor(api, attributes);
    const obj = new WdfSpinLockObject(this.kernel, attributes?.name ?? 'WDFSPINLOCK');
    obj.applyAttributes(attributes);
    this.handles.insert(obj, parent);
    return obj.handle as WDFSPINLOCK;
  }

  /** WdfSpinLockAcquire (<= DISPATCH_LEVEL): raises to DISPATCH_LEVEL; the old IRQL is kept in the object. */
  async wdfSpinLockAcquire(spinLock: WDFSPINLOCK): Promise<void> {
    const api = 'WdfSpinLockAcquire';
    const obj = this.handles.get<WdfSpinLockObject>(spinLock, 'WDFSPINLOCK', api);
    // KeAcquireSpinLock's own check (0xC4/0x42 above DISPATCH_LEVEL) is this DDI's.
    const old = await obj.lock.acquire(api);
    obj.oldIrql = old;
  }

  /**
   * WdfSpinLockRelease (DISPATCH_LEVEL, holding it): restores the IRQL of the acquire. Lowering the
   * IRQL is a preemption point, as KeReleaseSpinLock's: await it (undefined when nothing ran).
   */
  wdfSpinLockRelease(spinLock: WDFSPINLOCK): Promise<void> | undefined {
    const api = 'WdfSpinLockRelease';
    const obj = this.handles.get<WdfSpinLockObject>(spinLock, 'WDFSPINLOCK', api);
    // KeReleaseSpinLock's own check (0xC4/0x32 off DISPATCH_LEVEL) is this DDI's.
    return obj.lock.release(obj.oldIrql, api);
  }

  /** WdfWaitLockCreate (<= DISPATCH_LEVEL). */
  wdfWaitLockCreate(attributes?: WdfObjectAttributes & { name?: string }): WDFWAITLOCK {
    const api = 'WdfWaitLockCreate';
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL);
    const parent = this.parentFor(api, attributes);
    const obj = new WdfWaitLockObject(this.kernel, attributes?.name ?? 'WDFWAITLOCK');
    obj.applyAttributes(attributes);
    this.handles.insert(obj, parent);
    return obj.handle as WDFWAITLOCK;
  }

  /**
   * WdfWaitLockAcquire: without a timeout at PASSIVE_LEVEL, waiting as long as it takes
   * (STATUS_SUCCESS); with timeoutMs 0 at <= DISPATCH_LEVEL, STATUS_TIMEOUT if it is held.
   */
  async wdfWaitLockAcquire(waitLock: WDFWAITLOCK, timeoutMs?: 0): Promise<NTSTATUS> {
    const api = 'WdfWaitLockAcquire';
    const obj = this.handles.get<WdfWaitLockObject>(waitLock, 'WDFWAITLOCK', api);
    if (timeoutMs === 0) {
      this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL);
      return obj.lock.tryAcquire(api) ? NtStatus.STATUS_SUCCESS : NtStatus.STATUS_TIMEOUT;
    }
    if (!this.verifier.checkIrqlLevel(api, Irql.PASSIVE_LEVEL)) return NtStatus.STATUS_INVALID_DEVICE_REQUEST;
    await obj.lock.acquire(api);
    return NtStatus.STATUS_SUCCESS;
  }

  /** WdfWaitLockRelease (<= DISPATCH_LEVEL). */
  wdfWaitLockRelease(waitLock: WDFWAITLOCK): void {
    const api = 'WdfWaitLockRelease';
    const obj = this.handles.get<WdfWaitLockObject>(waitLock, 'WDFWAITLOCK', api);
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL);
    obj.lock.release(undefined, api);
  }

  // ================================================================ work items

  /**
   * WdfWorkItemCreate (<= DISPATCH_LEVEL): attributes.parentObject (a device or queue) is required;
   * automatic serialization uses the parent's passive callback lock.
   */
  wdfWorkItemCreate(config: WdfWorkItemConfig, attributes: WdfObjectAttributes): WDFWORKITEM {
    const api = 'WdfWorkItemCreate';
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL);
    if (typeof config?.evtWorkItem !== 'function') throw new WdfStatusError(api, NtStatus.STATUS_INVALID_PARAMETER, 'EvtWorkItem is required');
    if (attributes?.parentObject === undefined) throw new WdfStatusError(api, NtStatus.STATUS_WDF_PARENT_NOT_SPECIFIED, 'a work item needs a parent object (its device or queue)');
    const parent = this.handles.getAny(attributes.parentObject, api);
    let lock: CallbackLock | null = null;
    if (config.automaticSerialization) {
      const p = parent as unknown as Partial<SerializingParent> & { callbackLock?: CallbackLock | null };
      lock = p.callbackLock ?? null;
      if (lock && !lock.passive)
        throw new WdfStatusError(api, NtStatus.STATUS_WDF_INCOMPATIBLE_EXECUTION_LEVEL, "the parent's callback lock is a spin lock; a work item runs at PASSIVE_LEVEL");
    }
    const obj = new WdfWorkItemObject(this.kernel, config, lock);
    obj.applyAttributes(attributes);
    this.handles.insert(obj, parent);
    return obj.handle as WDFWORKITEM;
  }

  /** WdfWorkItemEnqueue (<= DISPATCH_LEVEL): a second enqueue before it starts is ignored. */
  wdfWorkItemEnqueue(workItem: WDFWORKITEM): void {
    const api = 'WdfWorkItemEnqueue';
    const obj = this.handles.get<WdfWorkItemObject>(workItem, 'WDFWORKITEM', api);
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL);
    obj.item.enqueue();
  }

  /** WdfWorkItemFlush (PASSIVE_LEVEL): returns once the work item is neither queued nor running. */
  async wdfWorkItemFlush(workItem: WDFWORKITEM): Promise<void> {
    const api = 'WdfWorkItemFlush';
    const obj = this.handles.get<WdfWorkItemObject>(workItem, 'WDFWORKITEM', api);
    if (!this.verifier.checkIrqlLevel(api, Irql.PASSIVE_LEVEL)) return;
    await obj.item.flush();
  }

  /** WdfWorkItemGetParentObject (<= DISPATCH_LEVEL). */
  wdfWorkItemGetParentObject(workItem: WDFWORKITEM): WDFOBJECT {
    const api = 'WdfWorkItemGetParentObject';
    const obj = this.handles.get<WdfWorkItemObject>(workItem, 'WDFWORKITEM', api);
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL);
    return obj.parent!.handle as WDFOBJECT;
  }

  // ================================================================ timers

  /**
   * WdfTimerCreate (<= DISPATCH_LEVEL): attributes.parentObject (a device or queue) is required;
   * automatic serialization (the default) uses the parent's callback spin lock if it has one.
   */
  wdfTimerCreate(config: WdfTimerConfig, attributes: WdfObjectAttributes): WDFTIMER {
    const api = 'WdfTimerCreate';
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL);
    if (typeof config?.evtTimerFunc !== 'function') throw new WdfStatusError(api, NtStatus.STATUS_INVALID_PARAMETER, 'EvtTimerFunc is required');
    if (config.period !== undefined && !(config.period >= 0)) throw new WdfStatusError(api, NtStatus.STATUS_INVALID_PARAMETER, `invalid period ${config.period}`);
    if (attributes?.parentObject === undefined) throw new WdfStatusError(api, NtStatus.STATUS_WDF_PARENT_NOT_SPECIFIED, 'a timer needs a parent object (its device or queue)');
    const parent = this.handles.getAny(attributes.parentObject, api);
    let lock: CallbackLock | null = null;
    if (config.automaticSerialization ?? true) {
      lock = (parent as unknown as { callbackLock?: CallbackLock | null }).callbackLock ?? null;
      if (lock?.passive)
        throw new WdfStatusError(api, NtStatus.STATUS_WDF_INCOMPATIBLE_EXECUTION_LEVEL, "the parent's callback lock is a wait lock; EvtTimerFunc runs at DISPATCH_LEVEL");
    }
    const obj = new WdfTimerObject(this.kernel, config, lock);
    obj.applyAttributes(attributes);
    this.handles.insert(obj, parent);
    return obj.handle as WDFTIMER;
  }

  /** WdfTimerStart (<= DISPATCH_LEVEL): due in `dueTimeMs`; true if it was already pending (it is rescheduled). */
  wdfTimerStart(timer: WDFTIMER, dueTimeMs: number): boolean {
    const api = 'WdfTimerStart';
    const obj = this.handles.get<WdfTimerObject>(timer, 'WDFTIMER', api);
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL);
    return obj.start(dueTimeMs);
  }

  /**
   * WdfTimerStop: cancel it; true if it was pending. With `wait` (PASSIVE_LEVEL only) also wait
   * until a running EvtTimerFunc has returned.
   */
  async wdfTimerStop(timer: WDFTIMER, wait: boolean): Promise<boolean> {
    const api = 'WdfTimerStop';
    const obj = this.handles.get<WdfTimerObject>(timer, 'WDFTIMER', api);
    if (wait && !this.verifier.checkIrqlLevel(api, Irql.PASSIVE_LEVEL)) return false;
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL);
    const was = obj.cancel();
    if (wait) await obj.waitIdle();
    return was;
  }

  /** WdfTimerGetParentObject (<= DISPATCH_LEVEL). */
  wdfTimerGetParentObject(timer: WDFTIMER): WDFOBJECT {
    const api = 'WdfTimerGetParentObject';
    const obj = this.handles.get<WdfTimerObject>(timer, 'WDFTIMER', api);
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL);
    return obj.parent!.handle as WDFOBJECT;
  }
}
