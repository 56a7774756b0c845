import { BugCheckCode, Irql, type Kernel } from '../kernel/index.ts';
import { WdfRequestFatalError, WdfViolation } from './bugcodes.ts';
import { WdfDeviceObject } from './device.ts';
import { WdfError, WdfPnpError, WdfStatusError } from './errors.ts';
import {
  HandleTable, WdfObject, type WDFDEVICE, type WDFDRIVER, type WDFINTERRUPT, type WDFOBJECT, type WDFSPINLOCK,
  type WDFWAITLOCK, type WDFWORKITEM, type WDFQUEUE, type WDFREQUEST, type WDFTIMER, type WdfObjectAttributes,
} from './handles.ts';
import { WdfInterruptObject } from './interrupt.ts';
import { WdfQueueObject } from './io-queue.ts';
import { RequestPool, type WdfRequestObject } from './request.ts';
import { WdfSpinLockObject, WdfWaitLockObject, type CallbackLock } from './locks.ts';
import { NtStatus, ntStatusText, ntSuccess, type NTSTATUS } from './ntstatus.ts';
import { callStatus } from './status.ts';
import type {
  EvtInterruptSynchronize, StatusResult, WdfCmResourceDescriptor, WdfCmResourceList, WdfDeviceAttributes, WdfDeviceInit,
  WdfDriverConfig, WdfHardwareResources, WdfInterruptConfig, WdfInterruptInfo, WdfIoQueueConfig, WdfPnpPowerEventCallbacks,
  WdfQueueAttributes, WdfRequestCompletion, WdfRequestDone, WdfRequestParameters, WdfRequestType, WdfTimerConfig, WdfWorkItemConfig,
} from './types.ts';
import { WdfTimerObject } from './timer.ts';
import { WdfWorkItemObject } from './work-item.ts';

/** WDFDRIVER. */
class WdfDriverObject extends WdfObject {
  readonly type = 'WDFDRIVER' as const;
  readonly config: WdfDriverConfig;

  constructor(config: WdfDriverConfig) {
    super();
    this.config = config;
  }
}

/** The PWDFDEVICE_INIT handed to one EvtDriverDeviceAdd call. */
class DeviceInit implements WdfDeviceInit {
  readonly __wdfDeviceInit = true as const;
  device: WdfDeviceObject | null = null;
  open = true;
}

/** Something that can be the parent of an interrupt with automatic serialization: a device or one of its queues. */
export interface SerializingParent {
  readonly deviceObject: WdfDeviceObject;
  readonly callbackLock: CallbackLock | null;
}

export interface WdfFrameworkOptions {
  /** Driver name in traces and device names. Default 'wdf'. */
  name?: string;
}

/**
 * The KMDF facade: one driver's view of Wdf01000.sys, on top of the kernel model.
 *
 * Driver side: the `wdf*` methods, named after the WDF method in camelCase, each validating its
 * handles (WDF_VIOLATION 0x10D on an invalid, deleted or wrong-type handle) and the caller's IRQL
 * (kernel.requireIrql with the range Microsoft documents). Methods that return NTSTATUS in C
 * return their result here and throw WdfStatusError on failure.
 *
 * Host side (the PnP manager and I/O manager): loadDriver, addDevice, startDevice, stopDevice,
 * removeDevice, submitWrite, submitRead. Each runs the driver's callbacks in kernel routines at
 * the IRQL Windows uses.
 */
export class WdfFramework {
  readonly kernel: Kernel;
  readonly name: string;
  readonly handles: HandleTable;
  private driver: WdfDriverObject | null = null;
  private readonly deviceList: WdfDeviceObject[] = [];
  private currentInit: DeviceInit | null = null;
  private readonly requests = new RequestPool();
  /** Requests the host is waiting for (queued or owned by the driver). */
  private readonly liveRequests = new Set<WdfRequestObject>();
  private readonly completeRequestFn = (req: WdfRequestObject, status: NTSTATUS, information: number): void => this.finishRequest(req, status, information);

  constructor(kernel: Kernel, opts: WdfFrameworkOptions = {}) {
    this.kernel = kernel;
    this.name = opts.name ?? 'wdf';
    this.handles = new HandleTable(kernel);
    // A crashed driver completes nothing: end the host's waits with the bug check instead of hanging.
    kernel.once('bugcheck', () => {
      const err = kernel.stopped;
      for (const req of this.liveRequests) req.abandon(err);
      this.liveRequests.clear();
    });
  }

  // ================================================================ host side: PnP manager

  /** Load the driver: run DriverEntry at PASSIVE_LEVEL; it must call wdfDriverCreate. */
  async loadDriver(driverEntry: (wdf: WdfFramework) => StatusResult): Promise<WDFDRIVER> {
    if (this.driver) throw new WdfError(`driver ${this.name} is already loaded`);
    const status = await this.kernel.runAtPassive('DriverEntry', () => callStatus(() => driverEntry(this)));
    if (!ntSuccess(status)) throw new WdfPnpError('loadDriver', status, `DriverEntry returned ${ntStatusText(status)}`);
    // Re-read: DriverEntry set it (TypeScript still narrows the field to null from the check above).
    const driver = this.driver as WdfDriverObject | null;
    if (!driver) throw new WdfPnpError('loadDriver', NtStatus.STATUS_UNSUCCESSFUL, 'DriverEntry returned success without calling wdfDriverCreate');
    return driver.handle as WDFDRIVER;
  }

  /** The PnP manager found the device: EvtDriverDeviceAdd at PASSIVE_LEVEL. Returns the WDFDEVICE it created. */
  async addDevice(): Promise<WDFDEVICE> {
    const driver = this.driver;
    if (!driver) throw new WdfError('addDevice before loadDriver (no WDFDRIVER)');
    const init = new DeviceInit();
    const add = driver.config.evtDriverDeviceAdd;
    const status = await this.kernel.runAtPassive(add.name || 'EvtDriverDeviceAdd', async () => {
      this.currentInit = init;
      try {
        return await callStatus(() => add(driver.handle as WDFDRIVER, init));
      } finally {
        init.open = false;
        this.currentInit = null;
      }
    });
    const device = init.device;
    if (!ntSuccess(status)) {
      if (device && !device.deleted) this.handles.delete(device);
      throw new WdfPnpError('addDevice', status, `EvtDriverDeviceAdd returned ${ntStatusText(status)}`);
    }
    if (!device) throw new WdfPnpError('addDevice', NtStatus.STATUS_UNSUCCESSFUL, 'EvtDriverDeviceAdd returned success without calling wdfDeviceCreate');
    return device.wdfHandle;
  }

  /** IRP_MN_START_DEVICE with these resources (see WdfDeviceObject.start for the callback order). */
  startDevice(resources: WdfHardwareResources, device?: WDFDEVICE): Promise<void> {
    const dev = this.hostDevice('startDevice', device);
    return this.runPnp('IRP_MN_START_DEVICE', () => dev.start(resources));
  }

  /** IRP_MN_STOP_DEVICE: interrupts disabled and disconnected, D0Exit, ReleaseHardware. No ISR or DPC runs afterwards. */
  stopDevice(device?: WDFDEVICE): Promise<void> {
    const dev = this.hostDevice('stopDevice', device);
    return this.runPnp('IRP_MN_STOP_DEVICE', () => dev.stop());
  }

  /** IRP_MN_REMOVE_DEVICE: stop if started, cancel queued requests, delete the device and every child object. */
  async removeDevice(device?: WDFDEVICE): Promise<void> {
    const dev = this.hostDevice('removeDevice', device);
    await this.runPnp('IRP_MN_REMOVE_DEVICE', () => dev.remove(NtStatus.STATUS_CANCELLED));
    const n = this.deviceList.indexOf(dev);
    if (n >= 0) this.deviceList.splice(n, 1);
  }

  /** Unload: remove every device, call EvtDriverUnload, delete the driver object. */
  async unloadDriver(): Promise<void> {
    const driver = this.driver;
    if (!driver) return;
    for (const d of [...this.deviceList]) await this.removeDevice(d.wdfHandle);
    const unload = driver.config.evtDriverUnload;
    await this.kernel.runAtPassive(unload?.name || 'DriverUnload', async () => {
      if (unload) await unload(driver.handle as WDFDRIVER);
      this.handles.delete(driver);
    });
    this.driver = null;
  }

  /** The devices the driver created, oldest first (host side). */
  get devices(): readonly WDFDEVICE[] {
    return this.deviceList.map((d) => d.wdfHandle);
  }

  /** Host-side view of a device's PnP state. */
  deviceState(device?: WDFDEVICE): 'init' | 'started' | 'stopped' | 'removed' {
    const dev = device === undefined ? this.deviceList[0] : this.deviceList.find((d) => d.handle === device);
    return dev ? dev.state : 'removed';
  }

  /**
   * Run a PnP operation as a PASSIVE_LEVEL system thread call. A failure the driver reported (a
   * status) is handed back to the host as the WdfError it is; anything else is a crash (bug check).
   */
  private async runPnp(name: string, op: () => Promise<void>): Promise<void> {
    const failure = await this.kernel.runAtPassive(name, async () => {
      try {
        await op();
        return null;
      } catch (err) {
        if (err instanceof WdfError) return err;
        throw err;
      }
    });
    if (failure) throw failure;
  }

  private hostDevice(op: string, device: WDFDEVICE | undefined): WdfDeviceObject {
    if (device === undefined) {
      if (this.deviceList.length !== 1) throw new WdfError(`${op}: ${this.deviceList.length} devices exist; name the one you mean`);
      return this.deviceList[0]!;
    }
    const dev = this.deviceList.find((d) => d.handle === device);
    if (!dev) throw new WdfError(`${op}: 0x${Number(device).toString(16)} is not a device of driver ${this.name}`);
    return dev;
  }

  // ================================================================ objects

  /** WdfDriverCreate (PASSIVE_LEVEL, in DriverEntry). */
  wdfDriverCreate(config: WdfDriverConfig, attributes?: WdfObjectAttributes): WDFDRIVER {
    const api = 'WdfDriverCreate';
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, Irql.PASSIVE_LEVEL);
    if (this.driver) throw new WdfStatusError(api, NtStatus.STATUS_INVALID_DEVICE_STATE, 'the driver object already exists');
    if (typeof config?.evtDriverDeviceAdd !== 'function') throw new WdfStatusError(api, NtStatus.STATUS_INVALID_PARAMETER, 'EvtDriverDeviceAdd is required');
    const driver = new WdfDriverObject(config);
    driver.applyAttributes(attributes);
    this.handles.insert(driver, null);
    this.driver = driver;
    return driver.handle as WDFDRIVER;
  }

  /**
   * WdfDeviceCreate (PASSIVE_LEVEL, in EvtDriverDeviceAdd), with WdfDeviceInitSetPnpPowerEventCallbacks
   * folded in as `callbacks`; attributes carry the context and the synchronization scope.
   */
  wdfDeviceCreate<C>(deviceInit: WdfDeviceInit, callbacks: WdfPnpPowerEventCallbacks = {}, attributes?: WdfDeviceAttributes<C>): WDFDEVICE {
    const api = 'WdfDeviceCreate';
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, Irql.PASSIVE_LEVEL);
    const init = deviceInit as DeviceInit;
    if (!(init instanceof DeviceInit) || !init.open || init !== this.currentInit) {
      this.kernel.bugCheck(BugCheckCode.WDF_VIOLATION, WdfViolation.WDF_REQUIRED_PARAMETER_IS_NULL, 0, 0, 0, {
        api, message: `${api} needs the WDFDEVICE_INIT of the EvtDriverDeviceAdd call in progress`,
      });
    }
    if (init.device) throw new WdfStatusError(api, NtStatus.STATUS_INVALID_DEVICE_STATE, 'this WDFDEVICE_INIT was already used');
    const dev = new WdfDeviceObject(this.kernel, this.handles, callbacks, attributes, `${this.name}#${this.deviceList.length}`);
    dev.applyAttributes(attributes);
    this.handles.insert(dev, this.driver);
    init.device = dev;
    this.deviceList.push(dev);
    return dev.wdfHandle;
  }

  /** WdfObjectGetTypedContext (any IRQL): the context given in the object's attributes. */
  getContext<T>(handle: WDFOBJECT): T {
    const obj = this.handles.getAny(handle, 'WdfObjectGetTypedContext');
    if (!obj.hasContext) throw new WdfError(`WdfObjectGetTypedContext: ${obj.type} 0x${obj.handle.toString(16)} was created without a context`, { handle: obj.handle });
    return obj.context as T;
  }

  /** WdfObjectGetTypedContext, by its WDF name. */
  wdfObjectGetTypedContext<T>(handle: WDFOBJECT): T {
    return this.getContext<T>(handle);
  }

  /**
   * WdfObjectDelete (<= DISPATCH_LEVEL): deletes the object and its children. Devices, interrupts
   * and requests are deleted by the framework, never by the driver (WDF_VIOLATION, WDF_OBJECT_ERROR).
   */
  wdfObjectDelete(handle: WDFOBJECT): void {
    const api = 'WdfObjectDelete';
    const obj = this.handles.getAny(handle, api);
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL);
    if (obj.type === 'WDFDEVICE' || obj.type === 'WDFINTERRUPT' || obj.type === 'WDFREQUEST' || obj.type === 'WDFDRIVER') {
      this.kernel.bugCheck(BugCheckCode.WDF_VIOLATION, WdfViolation.WDF_OBJECT_ERROR, obj.handle, 0, 0, {
        api, message: `${api} on ${obj.type} 0x${obj.handle.toString(16)}: the framework deletes this object itself${obj.type === 'WDFREQUEST' ? ' (complete the request instead)' : ''}`,
      });
    }
    this.handles.delete(obj);
  }

  /** WdfCmResourceListGetCount (<= DISPATCH_LEVEL). */
  wdfCmResourceListGetCount(list: WdfCmResourceList): number {
    this.kernel.requireIrql('WdfCmResourceListGetCount', Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL);
    return list.descriptors.length;
  }

  /** WdfCmResourceListGetDescriptor (<= DISPATCH_LEVEL): undefined past the end (NULL in C). */
  wdfCmResourceListGetDescriptor(list: WdfCmResourceList, index: number): WdfCmResourceDescriptor | undefined {
    this.kernel.requireIrql('WdfCmResourceListGetDescriptor', Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL);
    return list.descriptors[index];
  }

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
    const fail = (status: NTSTATUS, message: string): never => { throw new WdfStatusError(api, status, message, { device: dev.name }); };
    if (typeof config?.evtInterruptIsr !== 'function') fail(NtStatus.STATUS_INVALID_PARAMETER, 'EvtInterruptIsr is required');
    if (dev.inPrepareHardware) {
      if (!config.interruptTranslated) fail(NtStatus.STATUS_INVALID_DEVICE_STATE, 'an interrupt created in EvtDevicePrepareHardware needs InterruptTranslated (a CmResourceTypeInterrupt descriptor)');
      if (config.shareVector !== undefined) fail(NtStatus.STATUS_INVALID_DEVICE_STATE, 'ShareVector must be WdfUseDefault (undefined) in EvtDevicePrepareHardware');
    } else if (dev.state === 'init') {
      if (config.interruptTranslated) fail(NtStatus.STATUS_INVALID_PARAMETER, 'InterruptTranslated must be absent in EvtDriverDeviceAdd (resources are not known yet)');
    } else {
      fail(NtStatus.STATUS_INVALID_DEVICE_STATE, 'WDFINTERRUPTs can only be created in EvtDriverDeviceAdd or EvtDevicePrepareHardware');
    }
    if (config.interruptTranslated && config.interruptTranslated.type !== 'CmResourceTypeInterrupt') fail(NtStatus.STATUS_INVALID_PARAMETER, 'InterruptTranslated is not an interrupt descriptor');
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
        fail(NtStatus.STATUS_WDF_INCOMPATIBLE_EXECUTION_LEVEL, `the parent's callback lock is a ${parent.callbackLock.passive ? 'wait lock (passive)' : 'spin lock (dispatch)'}, but the ${passiveCallbacks ? 'work item runs at PASSIVE_LEVEL' : 'DPC runs at DISPATCH_LEVEL'}`);
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

  /** WdfInterruptQueueDpcForIsr (<= DIRQL): false if the DPC is already queued. */
  wdfInterruptQueueDpcForIsr(interrupt: WDFINTERRUPT): boolean {
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
    if (this.kernel.currentIrql() > Irql.DISPATCH_LEVEL) return this.kernel.insertQueueDpc(obj.dpc!);
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
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, obj.passive ? Irql.PASSIVE_LEVEL : Irql.DISPATCH_LEVEL);
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
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, obj.passive ? Irql.PASSIVE_LEVEL : Irql.DISPATCH_LEVEL);
    const k = obj.requireConnected(api);
    const old = await this.kernel.acquireInterruptLock(k);
    obj.lockOldIrql = old;
  }

  /** WdfInterruptReleaseLock (at the synchronize IRQL, holding the lock): release it and restore the IRQL. */
  wdfInterruptReleaseLock(interrupt: WDFINTERRUPT): void {
    const api = 'WdfInterruptReleaseLock';
    const obj = this.interruptObject(interrupt, api);
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, obj.passive ? Irql.PASSIVE_LEVEL : Irql.HIGH_LEVEL);
    const k = obj.requireConnected(api);
    this.kernel.releaseInterruptLock(k, obj.lockOldIrql);
  }

  /** WdfInterruptEnable (PASSIVE_LEVEL): calls EvtInterruptEnable at DIRQL under the interrupt lock. */
  async wdfInterruptEnable(interrupt: WDFINTERRUPT): Promise<void> {
    const api = 'WdfInterruptEnable';
    const obj = this.interruptObject(interrupt, api);
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, Irql.PASSIVE_LEVEL);
    await obj.enable(api);
  }

  /** WdfInterruptDisable (PASSIVE_LEVEL): calls EvtInterruptDisable at DIRQL under the interrupt lock. */
  async wdfInterruptDisable(interrupt: WDFINTERRUPT): Promise<void> {
    const api = 'WdfInterruptDisable';
    const obj = this.interruptObject(interrupt, api);
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, Irql.PASSIVE_LEVEL);
    await obj.disable(api);
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
      api, message: `${api} on ${obj.describe()}, which has no ${what}`,
    });
  }

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
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL);
    const old = await obj.lock.acquire();
    obj.oldIrql = old;
  }

  /** WdfSpinLockRelease (DISPATCH_LEVEL, holding it): restores the IRQL of the acquire. */
  wdfSpinLockRelease(spinLock: WDFSPINLOCK): void {
    const api = 'WdfSpinLockRelease';
    const obj = this.handles.get<WdfSpinLockObject>(spinLock, 'WDFSPINLOCK', api);
    this.kernel.requireIrql(api, Irql.DISPATCH_LEVEL, Irql.DISPATCH_LEVEL);
    obj.lock.release(obj.oldIrql);
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
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, Irql.PASSIVE_LEVEL);
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
      if (lock && !lock.passive) throw new WdfStatusError(api, NtStatus.STATUS_WDF_INCOMPATIBLE_EXECUTION_LEVEL, "the parent's callback lock is a spin lock; a work item runs at PASSIVE_LEVEL");
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
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, Irql.PASSIVE_LEVEL);
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
      if (lock?.passive) throw new WdfStatusError(api, NtStatus.STATUS_WDF_INCOMPATIBLE_EXECUTION_LEVEL, "the parent's callback lock is a wait lock; EvtTimerFunc runs at DISPATCH_LEVEL");
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
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, wait ? Irql.PASSIVE_LEVEL : Irql.DISPATCH_LEVEL);
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

  private parentFor(api: string, attributes: WdfObjectAttributes | undefined): WdfObject | null {
    if (attributes?.parentObject !== undefined) return this.handles.getAny(attributes.parentObject, api);
    return this.driver;
  }

  // ================================================================ I/O queues

  /**
   * WdfIoQueueCreate (<= DISPATCH_LEVEL). dispatch 'sequential' | 'parallel' | 'manual'; a default
   * queue receives every request type not routed with wdfDeviceConfigureRequestDispatching.
   */
  wdfIoQueueCreate<C>(device: WDFDEVICE, config: WdfIoQueueConfig, attributes?: WdfQueueAttributes<C>): WDFQUEUE {
    const api = 'WdfIoQueueCreate';
    const dev = this.handles.get<WdfDeviceObject>(device, 'WDFDEVICE', api);
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL);
    if (config?.dispatch !== 'sequential' && config?.dispatch !== 'parallel' && config?.dispatch !== 'manual') {
      throw new WdfStatusError(api, NtStatus.STATUS_INVALID_PARAMETER, `dispatch must be 'sequential', 'parallel' or 'manual', not ${String(config?.dispatch)}`);
    }
    if (config.dispatch === 'manual' && (config.evtIoWrite || config.evtIoRead || config.evtIoDefault)) {
      throw new WdfStatusError(api, NtStatus.STATUS_INVALID_PARAMETER, 'a manual queue has no request callbacks');
    }
    if (config.defaultQueue && dev.defaultQueue) throw new WdfStatusError(api, NtStatus.STATUS_INVALID_DEVICE_STATE, 'the device already has a default queue');
    const q = new WdfQueueObject(this.kernel, dev, config, attributes, this.completeRequestFn);
    q.applyAttributes(attributes);
    this.handles.insert(q, dev);
    dev.queues.push(q);
    if (config.defaultQueue) dev.defaultQueue = q;
    return q.wdfHandle;
  }

  /** WdfDeviceConfigureRequestDispatching (<= DISPATCH_LEVEL): route one request type to a queue. */
  wdfDeviceConfigureRequestDispatching(device: WDFDEVICE, queue: WDFQUEUE, requestType: WdfRequestType): void {
    const api = 'WdfDeviceConfigureRequestDispatching';
    const dev = this.handles.get<WdfDeviceObject>(device, 'WDFDEVICE', api);
    const q = this.handles.get<WdfQueueObject>(queue, 'WDFQUEUE', api);
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL);
    if (q.deviceObject !== dev) throw new WdfStatusError(api, NtStatus.STATUS_INVALID_PARAMETER, 'the queue belongs to another device');
    if (dev.dispatching.has(requestType)) throw new WdfStatusError(api, NtStatus.STATUS_INVALID_DEVICE_STATE, `${requestType} requests are already routed`);
    dev.dispatching.set(requestType, q);
  }

  /** WdfIoQueueGetDevice (<= DISPATCH_LEVEL). */
  wdfIoQueueGetDevice(queue: WDFQUEUE): WDFDEVICE {
    const api = 'WdfIoQueueGetDevice';
    const q = this.handles.get<WdfQueueObject>(queue, 'WDFQUEUE', api);
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL);
    return q.deviceObject.wdfHandle;
  }

  /**
   * WdfIoQueueRetrieveNextRequest (<= DISPATCH_LEVEL): the oldest request of a manual (or
   * sequential) queue, now owned by the driver; null when there is none (STATUS_NO_MORE_ENTRIES)
   * or a power-managed queue's device is not in D0 (STATUS_WDF_PAUSED).
   */
  wdfIoQueueRetrieveNextRequest(queue: WDFQUEUE): WDFREQUEST | null {
    const api = 'WdfIoQueueRetrieveNextRequest';
    const q = this.handles.get<WdfQueueObject>(queue, 'WDFQUEUE', api);
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL);
    if (q.dispatch === 'parallel') throw new WdfStatusError(api, NtStatus.STATUS_INVALID_DEVICE_REQUEST, 'requests of a parallel queue are presented, not retrieved');
    const req = q.retrieveNext();
    return req ? (req.handle as WDFREQUEST) : null;
  }

  /** WdfIoQueueStart (<= DISPATCH_LEVEL). */
  wdfIoQueueStart(queue: WDFQUEUE): void {
    const api = 'WdfIoQueueStart';
    const q = this.handles.get<WdfQueueObject>(queue, 'WDFQUEUE', api);
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL);
    q.start();
  }

  /** WdfIoQueueStop (<= DISPATCH_LEVEL): stop presenting; queued requests wait. */
  wdfIoQueueStop(queue: WDFQUEUE): void {
    const api = 'WdfIoQueueStop';
    const q = this.handles.get<WdfQueueObject>(queue, 'WDFQUEUE', api);
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL);
    q.stop();
  }

  /** WdfIoQueuePurge (<= DISPATCH_LEVEL): stop presenting and cancel every queued request (STATUS_CANCELLED). */
  wdfIoQueuePurge(queue: WDFQUEUE): void {
    const api = 'WdfIoQueuePurge';
    const q = this.handles.get<WdfQueueObject>(queue, 'WDFQUEUE', api);
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL);
    q.stop();
    q.purge(NtStatus.STATUS_CANCELLED);
  }

  // ================================================================ requests

  /** WdfRequestGetParameters (<= DISPATCH_LEVEL). */
  wdfRequestGetParameters(request: WDFREQUEST): WdfRequestParameters {
    const req = this.ownedRequest(request, 'WdfRequestGetParameters');
    return { type: req.requestType, length: req.buffer.length };
  }

  /**
   * WdfRequestRetrieveInputBuffer (<= DISPATCH_LEVEL): the data of a write (the frame to send), as
   * a view (no copy). STATUS_BUFFER_TOO_SMALL below `minimumRequiredLength`,
   * STATUS_INVALID_DEVICE_REQUEST for a read.
   */
  wdfRequestRetrieveInputBuffer(request: WDFREQUEST, minimumRequiredLength = 0): Uint8Array {
    const api = 'WdfRequestRetrieveInputBuffer';
    const req = this.ownedRequest(request, api);
    if (req.requestType !== 'write') throw new WdfStatusError(api, NtStatus.STATUS_INVALID_DEVICE_REQUEST, 'a read request has no input buffer');
    if (req.buffer.length < minimumRequiredLength) throw new WdfStatusError(api, NtStatus.STATUS_BUFFER_TOO_SMALL, `the buffer has ${req.buffer.length} bytes, ${minimumRequiredLength} required`);
    return req.buffer;
  }

  /**
   * WdfRequestRetrieveOutputBuffer (<= DISPATCH_LEVEL): the caller's buffer of a read (where a
   * received frame goes), as a view. STATUS_BUFFER_TOO_SMALL, STATUS_INVALID_DEVICE_REQUEST for a write.
   */
  wdfRequestRetrieveOutputBuffer(request: WDFREQUEST, minimumRequiredLength = 0): Uint8Array {
    const api = 'WdfRequestRetrieveOutputBuffer';
    const req = this.ownedRequest(request, api);
    if (req.requestType !== 'read') throw new WdfStatusError(api, NtStatus.STATUS_INVALID_DEVICE_REQUEST, 'a write request has no output buffer');
    if (req.buffer.length < minimumRequiredLength) throw new WdfStatusError(api, NtStatus.STATUS_BUFFER_TOO_SMALL, `the buffer has ${req.buffer.length} bytes, ${minimumRequiredLength} required`);
    return req.buffer;
  }

  /** WdfRequestSetInformation (<= DISPATCH_LEVEL). */
  wdfRequestSetInformation(request: WDFREQUEST, information: number): void {
    this.ownedRequest(request, 'WdfRequestSetInformation').information = information;
  }

  /** WdfRequestGetInformation (<= DISPATCH_LEVEL). */
  wdfRequestGetInformation(request: WDFREQUEST): number {
    return this.ownedRequest(request, 'WdfRequestGetInformation').information;
  }

  /** WdfRequestGetIoQueue (<= DISPATCH_LEVEL). */
  wdfRequestGetIoQueue(request: WDFREQUEST): WDFQUEUE {
    return this.ownedRequest(request, 'WdfRequestGetIoQueue').queue!.wdfHandle;
  }

  /** WdfRequestComplete (<= DISPATCH_LEVEL): with the information set so far. */
  wdfRequestComplete(request: WDFREQUEST, status: NTSTATUS): void {
    const req = this.ownedRequest(request, 'WdfRequestComplete');
    this.completeOwned(req, status, req.information, 'WdfRequestComplete');
  }

  /**
   * WdfRequestCompleteWithInformation (<= DISPATCH_LEVEL). The request is deleted: completing it
   * again is WDF_VIOLATION (invalid handle). A successful read completed with more bytes than its
   * buffer holds is WDF_VIOLATION (WDF_REQUEST_FATAL_ERROR, INFORMATION_LENGTH_MISMATCH).
   */
  wdfRequestCompleteWithInformation(request: WDFREQUEST, status: NTSTATUS, information: number): void {
    const req = this.ownedRequest(request, 'WdfRequestCompleteWithInformation');
    this.completeOwned(req, status, information, 'WdfRequestCompleteWithInformation');
  }

  /**
   * WdfRequestForwardToIoQueue (<= DISPATCH_LEVEL): put a request the driver owns into another queue
   * of the same device (pcidrv parks reads in a manual queue this way).
   */
  wdfRequestForwardToIoQueue(request: WDFREQUEST, destinationQueue: WDFQUEUE): void {
    const api = 'WdfRequestForwardToIoQueue';
    const req = this.ownedRequest(request, api);
    const dest = this.handles.get<WdfQueueObject>(destinationQueue, 'WDFQUEUE', api);
    const src = req.queue!;
    if (dest === src || dest.deviceObject !== src.deviceObject) {
      throw new WdfStatusError(api, NtStatus.STATUS_INVALID_DEVICE_REQUEST, dest === src ? 'the request is already from that queue' : 'the queue belongs to another device');
    }
    src.released();
    dest.enqueue(req);
  }

  private ownedRequest(request: WDFREQUEST, api: string): WdfRequestObject {
    const req = this.handles.get<WdfRequestObject>(request, 'WDFREQUEST', api);
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL);
    if (req.state !== 'driver') {
      this.kernel.bugCheck(BugCheckCode.WDF_VIOLATION, WdfViolation.WDF_REQUEST_FATAL_ERROR, WdfRequestFatalError.REQUEST_ALREADY_SENT, req.handle, 0, {
        api, message: `${api} on WDFREQUEST 0x${req.handle.toString(16)}, which the driver does not own: it sits in a queue (forwarded)`,
      });
    }
    return req;
  }

  private completeOwned(req: WdfRequestObject, status: NTSTATUS, information: number, api: string): void {
    if (req.requestType === 'read' && ntSuccess(status) && information > req.buffer.length) {
      this.kernel.bugCheck(BugCheckCode.WDF_VIOLATION, WdfViolation.WDF_REQUEST_FATAL_ERROR, WdfRequestFatalError.INFORMATION_LENGTH_MISMATCH, req.handle, 0, {
        api, message: `${api}: read WDFREQUEST 0x${req.handle.toString(16)} completed with Information ${information}, larger than its ${req.buffer.length}-byte buffer`,
      });
    }
    const queue = req.queue;
    this.finishRequest(req, status, information);
    queue?.released();
  }

  /** The end of every request: invalidate the handle, tell the host, recycle the object. */
  private finishRequest(req: WdfRequestObject, status: NTSTATUS, information: number): void {
    this.handles.delete(req, 'completed');
    this.liveRequests.delete(req);
    req.finish(status, information);
    this.requests.give(req);
  }

  // ================================================================ host side: I/O manager

  /**
   * A send from above (IRP_MJ_WRITE carrying one frame): queued to `target` (a queue, or a device's
   * write queue / default queue), presented to the driver at `irql` (PASSIVE_LEVEL, or
   * DISPATCH_LEVEL as NDIS would send). Resolves when the driver completes it. The frame is not copied.
   */
  submitWrite(target: WDFQUEUE | WDFDEVICE | undefined, frame: Uint8Array, irql: number = Irql.PASSIVE_LEVEL): Promise<WdfRequestCompletion> {
    return this.submit(target, 'write', frame, irql);
  }

  /**
   * A pending receive (IRP_MJ_READ with an empty buffer): the driver fills `buffer` with a frame and
   * completes it with the frame length as information.
   */
  submitRead(target: WDFQUEUE | WDFDEVICE | undefined, buffer: Uint8Array, irql: number = Irql.PASSIVE_LEVEL): Promise<WdfRequestCompletion> {
    return this.submit(target, 'read', buffer, irql);
  }

  /**
   * submitWrite without a promise: `done(status, information, frame, tag, crash)` is called when the
   * driver completes the request (synchronously, inside the driver's WdfRequestComplete). With a
   * constant `done` and a pooled tag nothing is allocated per frame.
   */
  submitWriteNotify<T>(target: WDFQUEUE | WDFDEVICE | undefined, frame: Uint8Array, done: WdfRequestDone<T>, tag: T, irql: number = Irql.PASSIVE_LEVEL): void {
    this.submitNotify(target, 'write', frame, irql, done, tag);
  }

  /** submitRead without a promise (see submitWriteNotify). */
  submitReadNotify<T>(target: WDFQUEUE | WDFDEVICE | undefined, buffer: Uint8Array, done: WdfRequestDone<T>, tag: T, irql: number = Irql.PASSIVE_LEVEL): void {
    this.submitNotify(target, 'read', buffer, irql, done, tag);
  }

  /** Request objects created so far (the pool's high-water mark) and free now. */
  get requestPool(): { created: number; available: number } {
    return { created: this.requests.created, available: this.requests.available };
  }

  private submit(target: WDFQUEUE | WDFDEVICE | undefined, type: WdfRequestType, buffer: Uint8Array, irql: number): Promise<WdfRequestCompletion> {
    if (this.kernel.stopped) return Promise.reject(this.kernel.stopped);
    const queue = this.routeRequest(target, type, irql);
    const req = this.requests.take();
    req.prepare(type, buffer, irql);
    return new Promise<WdfRequestCompletion>((resolve, reject) => {
      req.awaitWith(resolve, reject);
      this.issue(req, queue);
    });
  }

  private submitNotify<T>(target: WDFQUEUE | WDFDEVICE | undefined, type: WdfRequestType, buffer: Uint8Array, irql: number, done: WdfRequestDone<T>, tag: T): void {
    if (this.kernel.stopped) {
      done(0, 0, buffer, tag, this.kernel.stopped);
      return;
    }
    const queue = this.routeRequest(target, type, irql);
    const req = this.requests.take();
    req.prepare(type, buffer, irql);
    req.notify(done, tag);
    this.issue(req, queue);
  }

  private issue(req: WdfRequestObject, queue: WdfQueueObject): void {
    this.handles.insert(req, null);
    this.liveRequests.add(req);
    queue.enqueue(req);
  }

  private routeRequest(target: WDFQUEUE | WDFDEVICE | undefined, type: WdfRequestType, irql: number): WdfQueueObject {
    if (irql !== Irql.PASSIVE_LEVEL && irql !== Irql.DISPATCH_LEVEL) throw new WdfError(`requests are presented at PASSIVE_LEVEL or DISPATCH_LEVEL, not ${irql}`);
    const obj = target === undefined ? this.hostDevice(`submit ${type}`, undefined) : this.handles.peek(target);
    if (obj instanceof WdfQueueObject) return obj;
    if (obj instanceof WdfDeviceObject) {
      const q = obj.dispatching.get(type) ?? obj.defaultQueue;
      if (q instanceof WdfQueueObject) return q;
      throw new WdfError(`device ${obj.name} has no queue for ${type} requests (no default queue, nothing routed)`);
    }
    throw new WdfError(`submit ${type}: 0x${Number(target).toString(16)} is neither a live WDFQUEUE nor a WDFDEVICE`);
  }
}
