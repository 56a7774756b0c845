import { BugCheckCode, Irql, type Kernel } from '../kernel/index.ts';
import { WdfViolation } from './bugcodes.ts';
import { WdfDeviceObject, type WdfPnpCall } from './device.ts';
import { WdfError, WdfPnpError, WdfStatusError } from './errors.ts';
import type { WdfFramework } from './framework.ts';
import { HandleTable, type WDFDEVICE, type WDFDRIVER, WdfObject, type WDFOBJECT, type WdfObjectAttributes } from './handles.ts';
import type { CallbackLock } from './locks.ts';
import { NtStatus, ntStatusText, ntSuccess } from './ntstatus.ts';
import { callStatus } from './status.ts';
import {
  type StatusResult,
  type WdfCmResourceDescriptor,
  type WdfCmResourceList,
  type WdfDeviceAttributes,
  type WdfDeviceInit,
  type WdfDriverConfig,
  type WdfHardwareResources,
  type WdfPnpPowerEventCallbacks,
} from './types.ts';
import { WdfVerifier, type WdfVerifierOptions } from './verifier.ts';

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
  /**
   * How long leaving D0 waits for requests the driver owns (from power-managed queues) before
   * DRIVER_POWER_STATE_FAILURE (0x9F). Default 10 000 ms.
   */
  powerDownTimeoutMs?: number;
  /** KMDF's verifier: wrong-IRQL DDI calls are recorded (`verifier.findings`) unless `strict`. */
  verifier?: WdfVerifierOptions;
}

/** The framework's core: handle table, driver and devices, the PnP manager's side, generic object methods. */
export class WdfCore {
  readonly kernel: Kernel;
  readonly name: string;
  readonly handles: HandleTable;
  readonly powerDownTimeoutMs: number;
  readonly verifier: WdfVerifier;
  /** The PnP and power callbacks the framework called on its devices, in order, with the IRQL each ran at. */
  readonly pnpCalls: WdfPnpCall[] = [];
  protected driver: WdfDriverObject | null = null;
  protected readonly deviceList: WdfDeviceObject[] = [];
  private currentInit: DeviceInit | null = null;

  constructor(kernel: Kernel, opts: WdfFrameworkOptions = {}) {
    this.kernel = kernel;
    this.name = opts.name ?? 'wdf';
    this.handles = new HandleTable(kernel);
    this.powerDownTimeoutMs = opts.powerDownTimeoutMs ?? 10_000;
    this.verifier = new WdfVerifier(kernel, this.name, opts.verifier);
  }

  // ================================================================ host side: PnP manager

  /** Load the driver: run DriverEntry at PASSIVE_LEVEL; it must call wdfDriverCreate. */
  async loadDriver(driverEntry: (wdf: WdfFramework) => StatusResult): Promise<WDFDRIVER> {
    if (this.driver) throw new WdfError(`driver ${this.name} is already loaded`);
    const status = await this.kernel.runAtPassive('DriverEntry', () => callStatus(() => driverEntry(this as unknown as WdfFramework)));
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

  /**
   * The device was unplugged: IRP_MN_SURPRISE_REMOVAL (EvtDeviceSurpriseRemoval), then the removal
   * sequence of IRP_MN_REMOVE_DEVICE (see WdfDeviceObject.surpriseRemove).
   */
  async surpriseRemoveDevice(device?: WDFDEVICE): Promise<void> {
    const dev = this.hostDevice('surpriseRemoveDevice', device);
    await this.runPnp('IRP_MN_SURPRISE_REMOVAL', () => dev.surpriseRemove(NtStatus.STATUS_CANCELLED));
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

  protected hostDevice(op: string, device: WDFDEVICE | undefined): WdfDeviceObject {
    if (device === undefined) {
      if (this.deviceList.length !== 1) throw new WdfError(`${op}: ${this.deviceList.length} devices exist; name the one you mean`);
      return this.deviceList[0]!;
    }
    const dev = this.deviceList.find((d) => d.handle === device);
    if (!dev) throw new WdfError(`${op}: 0x${Number(device).toString(16)} is not a device of driver ${this.name}`);
    return dev;
  }

  /** KMDF's FxVerifierCheckIrqlLevel(PASSIVE_LEVEL) in a DDI that returns NTSTATUS: STATUS_INVALID_DEVICE_REQUEST. */
  protected failUnlessPassive(api: string): void {
    if (!this.verifier.checkIrqlLevel(api, Irql.PASSIVE_LEVEL)) {
      throw new WdfStatusError(api, NtStatus.STATUS_INVALID_DEVICE_REQUEST, 'called at wrong IRQL (KMDF verifier)');
    }
  }

  // ================================================================ objects

  /** WdfDriverCreate (PASSIVE_LEVEL, in DriverEntry). */
  wdfDriverCreate(config: WdfDriverConfig, attributes?: WdfObjectAttributes): WDFDRIVER {
    const api = 'WdfDriverCreate';
    this.failUnlessPassive(api);
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
    this.failUnlessPassive(api);
    const init = deviceInit as DeviceInit;
    if (!(init instanceof DeviceInit) || !init.open || init !== this.currentInit) {
      this.kernel.bugCheck(BugCheckCode.WDF_VIOLATION, WdfViolation.WDF_REQUIRED_PARAMETER_IS_NULL, 0, 0, 0, {
        api,
        message: `${api} needs the WDFDEVICE_INIT of the EvtDriverDeviceAdd call in progress`,
      });
    }
    if (init.device) throw new WdfStatusError(api, NtStatus.STATUS_INVALID_DEVICE_STATE, 'this WDFDEVICE_INIT was already used');
    const dev = new WdfDeviceObject(this.kernel, this.handles, callbacks, attributes, `${this.name}#${this.deviceList.length}`);
    dev.applyAttributes(attributes);
    dev.powerDownTimeoutMs = this.powerDownTimeoutMs;
    dev.pnpCalls = this.pnpCalls;
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
        api,
        message: `${api} on ${obj.type} 0x${obj.handle.toString(16)}: the framework deletes this object itself${obj.type === 'WDFREQUEST' ? ' (complete the request instead)' : ''}`,
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

  protected parentFor(api: string, attributes: WdfObjectAttributes | undefined): WdfObject | null {
    if (attributes?.parentObject !== undefined) return this.handles.getAny(attributes.parentObject, api);
    return this.driver;
  }
}
