import { BugCheckCode, Irql } from '../kernel/index.ts';
import { type SerializingParent } from './api-core.ts';
import { WdfSyncApi } from './api-sync.ts';
import { WdfViolation } from './bugcodes.ts';
import { WdfDeviceObject } from './device.ts';
import { WdfStatusError } from './errors.ts';
import { type WDFDEVICE, type WDFINTERRUPT, WdfObject, type WdfObjectAttributes } from './handles.ts';
import { WdfInterruptObject } from './interrupt.ts';
import { type CallbackLock } from './locks.ts';
import { type NTSTATUS, NtStatus } from './ntstatus.ts';
import { type EvtInterruptSynchronize, type WdfInterruptConfig, type WdfInterruptInfo } from './types.ts';

/** WDFINTERRUPT methods. */
export class WdfInterruptApi extends WdfSyncApi {
  // ================================================================ interrupts

  /**
   * WdfInterruptCreate (PASSIVE_LEVEL). Only in EvtDriverDeviceAdd (resources are assigned at start,
   * in creation order) or in EvtDevicePrepareHardware (config.interruptTranslated required; deleted
   * after EvtDeviceReleaseHardware). Validation follows KMDF's: STATUS_INVALID_DEVICE_STATE elsewhere,
   * STATUS_INVALID_PARAMETER for a DPC and a work item together, and so on.
   */
  wdfInterruptCreate(device: WDFDEVICE, config: WdfInterruptConfig, attributes?: WdfObjectAttributes): WDFINTERRUPT {
    const api = 'WdfInterruptCreate';
    const dev = this.handles.get<WdfDeviceObject>(device, 'WDFDEVICE', api);
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, Irql.PASSIVE_LEVEL);
    const fail = (status: NTSTATUS, message: string): never => {
      throw new WdfStatusError(api, status, message, { device: dev.name });
    };
    if (typeof config?.evtInterruptIsr !== 'function') fail(NtStatus.STATUS_INVALID_PARAMETER, 'EvtInterruptIsr is required');
    if (dev.inPrepareHardware) {
      if (!config.interruptTranslated)
        fail(NtStatus.STATUS_INVALID_DEVICE_STATE, 'an interrupt created in EvtDevicePrepareHardware needs InterruptTranslated (a CmResourceTypeInterrupt descriptor)');
      if (config.shareVector !== undefined) fail(NtStatus.STATUS_INVALID_DEVICE_STATE, 'ShareVector must be WdfUseDefault (undefined) in EvtDevicePrepareHardware');
    } else if (dev.state === 'init') {
      if (config.interruptTranslated) fail(NtStatus.STATUS_INVALID_PARAMETER, 'InterruptTranslated must be absent in EvtDriverDeviceAdd (resources are not known yet)');
    } else {
      fail(NtStatus.STATUS_INVALID_DEVICE_STATE, 'WDFINTERRUPTs can only be created in EvtDriverDeviceAdd or EvtDevicePrepareHardware');
    }
    if (config.interruptTranslated && config.interruptTranslated.type !== 'CmResourceTypeInterrupt')
      fail(NtStatus.STATUS_INVALID_PARAMETER, 'InterruptTranslated is not an interrupt descriptor');
    if (config.evtInterruptDpc && config.evtInterruptWorkItem) fail(NtStatus.STATUS_INVALID_PARAMETER, 'give EvtInterruptDpc or EvtInterruptWorkItem, not both');
    const passive = config.passiveHandling === true;
    if (passive && config.spinLock !== undefined) fail(NtStatus.STATUS_INVALID_PARAMETER, 'SpinLock cannot be given for passive-level handling');
    if (!passive && config.waitLock !== undefined) fail(NtStatus.STATUS_INVALID_PARAMETER, 'WaitLock cannot be given for DIRQL handling');
    if (config.spinLock !== undefined || config.waitLock !== undefined) {
      fail(NtStatus.STATUS_NOT_SUPPORTED, 'a driver-supplied interrupt lock (SpinLock/WaitLock) is not modelled yet: the kernel gives each interrupt its own lock');
    }
    let parent: SerializingParent = { deviceObject: dev, callbackLock: dev.callbackLock };
    let parentObject: WdfObject = dev;
    if (attributes?.parentObject !== undefined) {
      if (!config.automaticSerialization) fail(NtStatus.STATUS_WDF_PARENT_ASSIGNMENT_NOT_ALLOWED, 'a parent other than the device is allowed only with AutomaticSerialization');
      const p = this.handles.getAny(attributes.parentObject, api);
      const q = p as unknown as Partial<SerializingParent>;
      if (p !== dev && !(p.type === 'WDFQUEUE' && q.deviceObject === dev)) fail(NtStatus.STATUS_INVALID_PARAMETER, 'the parent must be the device or one of its queues');
      if (p !== dev) parent = q as SerializingParent;
      parentObject = p;
    }
    let callbackLock: CallbackLock | null = null;
    if (config.automaticSerialization && parent.callbackLock) {
      const passiveCallbacks = config.evtInterruptWorkItem !== undefined || (passive && config.evtInterruptDpc === undefined);
      if (parent.callbackLock.passive !== passiveCallbacks) {
        fail(
          NtStatus.STATUS_WDF_INCOMPATIBLE_EXECUTION_LEVEL,
          `the parent's callback lock is a ${parent.callbackLock.passive ? 'wait lock (passive)' : 'spin lock (dispatch)'}, but the ${passiveCallbacks ? 'work item runs at PASSIVE_LEVEL' : 'DPC runs at DISPATCH_LEVEL'}`,
        );
      }
      callbackLock = parent.callbackLock;
    }
    const obj = new WdfInterruptObject(this.kernel, dev.wdfHandle, config, { createdInPrepareHardware: dev.inPrepareHardware, callbackLock });
    obj.applyAttributes(attributes);
    this.handles.insert(obj, parentObject);
    dev.interrupts.push(obj);
    obj.onDeleted = () => dev.forgetInterrupt(obj);
    return obj.wdfHandle;
  }

  /**
   * WdfInterruptQueueDpcForIsr (<= DIRQL): false if the DPC is already queued. Called below
   * DISPATCH_LEVEL (its DPC goes to the caller's processor) EvtInterruptDpc has run when the awaited
   * call returns, as KeInsertQueueDpc's; from the ISR it is a plain boolean.
   */
  wdfInterruptQueueDpcForIsr(interrupt: WDFINTERRUPT): boolean | Promise<boolean> {
    const api = 'WdfInterruptQueueDpcForIsr';
    const obj = this.interruptObject(interrupt, api);
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, Math.max(Irql.DISPATCH_LEVEL, obj.synchronizeIrql));
    if (!obj.config.evtInterruptDpc) this.missingCallback(api, obj, 'EvtInterruptDpc');
    return this.kernel.insertQueueDpc(obj.dpc!);
  }

  /**
   * WdfInterruptQueueWorkItemForIsr (<= DIRQL): false if the work item is already queued. Above
   * DISPATCH_LEVEL it queues a DPC that queues the work item and returns the DPC's result, as KMDF does.
   */
  wdfInterruptQueueWorkItemForIsr(interrupt: WDFINTERRUPT): boolean {
    const api = 'WdfInterruptQueueWorkItemForIsr';
    const obj = this.interruptObject(interrupt, api);
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, Math.max(Irql.DISPATCH_LEVEL, obj.synchronizeIrql));
    if (!obj.workItem) this.missingCallback(api, obj, 'EvtInterruptWorkItem');
    if (this.kernel.currentIrql() > Irql.DISPATCH_LEVEL) return this.kernel.enqueueDpc(obj.dpc!);
    return obj.workItem.enqueue();
  }

  /**
   * WdfInterruptSynchronize (<= DISPATCH_LEVEL; PASSIVE_LEVEL for a passive-level interrupt): runs
   * `callback(interrupt, context)` at the interrupt's synchronize IRQL holding its spin lock (for a
   * passive-level interrupt: at PASSIVE_LEVEL holding its passive-level lock), restores the
   * caller's IRQL and returns the callback's boolean. The ISR cannot run on any processor meanwhile.
   */
  wdfInterruptSynchronize<C>(interrupt: WDFINTERRUPT, callback: EvtInterruptSynchronize<C>, context: C): Promise<boolean> {
    const api = 'WdfInterruptSynchronize';
    const obj = this.interruptObject(interrupt, api);
    if (!this.passiveIrqlChecked(obj, api)) return Promise.resolve(false);
    if (typeof callback !== 'function') this.missingCallback(api, obj, 'EvtInterruptSynchronize');
    const k = obj.requireConnected(api);
    return this.kernel.synchronizeExecution(k, obj.syncThunk(callback), context);
  }

  /**
   * WdfInterruptAcquireLock (<= DISPATCH_LEVEL; PASSIVE_LEVEL for a passive-level interrupt): raise
   * to the synchronize IRQL and take the interrupt spin lock (or take the passive-level lock).
   */
  async wdfInterruptAcquireLock(interrupt: WDFINTERRUPT): Promise<void> {
    const api = 'WdfInterruptAcquireLock';
    const obj = this.interruptObject(interrupt, api);
    if (!this.passiveIrqlChecked(obj, api)) return;
    const k = obj.requireConnected(api);
    const old = await this.kernel.acquireInterruptLock(k);
    obj.lockOldIrql = old;
  }

  /**
   * WdfInterruptReleaseLock (at the synchronize IRQL, holding the lock): release it and restore the
   * IRQL. Lowering the IRQL is a preemption point (an interrupt that fired meanwhile runs its ISR,
   * then DPCs below DISPATCH_LEVEL, before it returns): await it (undefined when nothing ran).
   */
  wdfInterruptReleaseLock(interrupt: WDFINTERRUPT): Promise<void> | undefined {
    const api = 'WdfInterruptReleaseLock';
    const obj = this.interruptObject(interrupt, api);
    if (obj.passive && !this.verifier.checkIrqlLevel(api, Irql.PASSIVE_LEVEL)) return undefined;
    const k = obj.requireConnected(api);
    return this.kernel.releaseInterruptLock(k, obj.lockOldIrql);
  }

  /** WdfInterruptEnable (PASSIVE_LEVEL): calls EvtInterruptEnable at DIRQL under the interrupt lock. */
  async wdfInterruptEnable(interrupt: WDFINTERRUPT): Promise<void> {
    const api = 'WdfInterruptEnable';
    const obj = this.interruptObject(interrupt, api);
    if (!this.verifier.checkIrqlLevel(api, Irql.PASSIVE_LEVEL)) return;
    await obj.enable(api);
  }

  /** WdfInterruptDisable (PASSIVE_LEVEL): calls EvtInterruptDisable at DIRQL under the interrupt lock. */
  async wdfInterruptDisable(interrupt: WDFINTERRUPT): Promise<void> {
    const api = 'WdfInterruptDisable';
    const obj = this.interruptObject(interrupt, api);
    if (!this.verifier.checkIrqlLevel(api, Irql.PASSIVE_LEVEL)) return;
    await obj.disable(api);
  }

  /**
   * The IRQL check of WdfInterruptSynchronize and WdfInterruptAcquireLock: for a passive-level
   * interrupt KMDF's verifier records a call above PASSIVE_LEVEL and fails the DDI (false here);
   * for a DIRQL interrupt the documented range (<= DISPATCH_LEVEL) is the kernel's check.
   */
  private passiveIrqlChecked(obj: WdfInterruptObject, api: string): boolean {
    const act = this.kernel.activationFor(api);
    if (obj.passive) return this.verifier.checkIrqlAtMost(act, api, Irql.PASSIVE_LEVEL);
    // Holding the interrupt's lock already (its own ISR, a synchronize callback): KMDF does not check
    // and Windows hangs on the lock; the kernel reports that as deadlock detection's 0xC4 / 0x1000.
    if (obj.kernelInterrupt?.lock.owner !== act) this.kernel.requireIrqlOf(act, api, Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL);
    return true;
  }

  /** WdfInterruptGetDevice (<= DIRQL). */
  wdfInterruptGetDevice(interrupt: WDFINTERRUPT): WDFDEVICE {
    const api = 'WdfInterruptGetDevice';
    const obj = this.interruptObject(interrupt, api);
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, Math.max(Irql.DISPATCH_LEVEL, obj.synchronizeIrql));
    return obj.deviceHandle;
  }

  /** WdfInterruptGetInfo (<= DISPATCH_LEVEL): zeros before EvtDevicePrepareHardware and after EvtDeviceReleaseHardware. */
  wdfInterruptGetInfo(interrupt: WDFINTERRUPT): WdfInterruptInfo {
    const api = 'WdfInterruptGetInfo';
    const obj = this.interruptObject(interrupt, api);
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL);
    return obj.info();
  }

  private interruptObject(interrupt: WDFINTERRUPT, api: string): WdfInterruptObject {
    return this.handles.get<WdfInterruptObject>(interrupt, 'WDFINTERRUPT', api);
  }

  private missingCallback(api: string, obj: WdfInterruptObject, what: string): never {
    this.kernel.bugCheck(BugCheckCode.WDF_VIOLATION, WdfViolation.WDF_REQUIRED_PARAMETER_IS_NULL, 0, 0, 0, {
      api,
      message: `${api} on ${obj.describe()}, which has no ${what}`,
    });
  }
}
