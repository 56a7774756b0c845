import { BugCheckCode, DEFAULT_DIRQL, DeviceRegisters, KernelError, type Kernel } from '../kernel/index.ts';
import { lazyLogger } from '../util/log.ts';
import { WdfError, WdfPnpError } from './errors.ts';
import { WdfObject, type HandleTable, type WDFDEVICE } from './handles.ts';
import type { WdfInterruptObject } from './interrupt.ts';
import { makeCallbackLock, type CallbackLock } from './locks.ts';
import { NtStatus, ntStatusText, ntSuccess, type NTSTATUS } from './ntstatus.ts';
import { callStatus } from './status.ts';
import type {
  WdfCmInterruptDescriptor,
  WdfCmResourceDescriptor,
  WdfCmResourceList,
  WdfDeviceAttributes,
  WdfExecutionLevel,
  WdfHardwareResources,
  WdfPnpPowerEventCallbacks,
  WdfPowerDeviceState,
  WdfSynchronizationScope,
} from './types.ts';

/** DRIVER_POWER_STATE_FAILURE (not in the kernel's code list yet). */
const DRIVER_POWER_STATE_FAILURE = BugCheckCode.DRIVER_POWER_STATE_FAILURE;

const log = lazyLogger('wdf');

/** What the device needs from its queues around power transitions. */
export interface DeviceQueue {
  readonly powerManaged: boolean;
  /** The device entered D0: deliver what waited. */
  powerUp(): void;
  /** The device leaves D0: stop delivering, and wait (up to `timeoutMs`) for the requests the driver owns. */
  powerDownAndDrain(timeoutMs: number): Promise<boolean>;
  /** Device removal: complete every request still queued with `status`. */
  purge(status: NTSTATUS): void;
}

/** One PnP or power callback call: its KMDF name and the IRQL it ran at. */
export interface WdfPnpCall {
  readonly handler: string;
  readonly irql: number;
}

/** WdfDevStatePnp*, reduced to what the facade distinguishes. */
export type WdfDevicePnpState = 'init' | 'started' | 'stopped' | 'removed';

/**
 * WDFDEVICE (FxDevice with its PnP/power package, reduced to one NIC's life):
 * start = EvtDevicePrepareHardware → EvtDeviceD0Entry → interrupts connected and enabled
 * (EvtInterruptEnable at DIRQL) → EvtDeviceD0EntryPostInterruptsEnabled → queues started;
 * stop = queues stopped → EvtDeviceD0ExitPreInterruptsDisabled → EvtInterruptDisable at DIRQL →
 * interrupts disconnected (no ISR or DPC after this) → EvtDeviceD0Exit → EvtDeviceReleaseHardware.
 */
export class WdfDeviceObject extends WdfObject {
  readonly type = 'WDFDEVICE' as const;
  readonly kernel: Kernel;
  readonly callbacks: WdfPnpPowerEventCallbacks;
  readonly synchronizationScope: WdfSynchronizationScope;
  readonly executionLevel: WdfExecutionLevel;
  /** The device-scope callback lock (synchronizationScope 'device'), else null. */
  readonly callbackLock: CallbackLock | null;
  readonly name: string;
  state: WdfDevicePnpState = 'init';
  /** Inside EvtDevicePrepareHardware (interrupts may be created there). */
  inPrepareHardware = false;
  resources: WdfCmResourceList | null = null;
  readonly interrupts: WdfInterruptObject[] = [];
  readonly queues: DeviceQueue[] = [];
  /** WdfDeviceConfigureRequestDispatching targets. */
  readonly dispatching = new Map<string, DeviceQueue>();
  defaultQueue: DeviceQueue | null = null;
  /** How long a power-down waits for requests the driver owns before DRIVER_POWER_STATE_FAILURE. */
  powerDownTimeoutMs = 10_000;
  /** Where the callbacks this device calls are noted (the framework's list). */
  pnpCalls: WdfPnpCall[] = [];
  private readonly handles: HandleTable;

  constructor(kernel: Kernel, handles: HandleTable, callbacks: WdfPnpPowerEventCallbacks, attributes: WdfDeviceAttributes | undefined, name: string) {
    super();
    this.kernel = kernel;
    this.handles = handles;
    this.callbacks = callbacks;
    this.name = name;
    this.synchronizationScope = attributes?.synchronizationScope ?? 'none';
    this.executionLevel = attributes?.executionLevel ?? 'dispatch';
    this.callbackLock = this.synchronizationScope === 'device' ? makeCallbackLock(kernel, this.executionLevel, `${name} callback lock`) : null;
  }

  get wdfHandle(): WDFDEVICE {
    return this.handle as WDFDEVICE;
  }

  /** In D0 with interrupts connected. */
  get started(): boolean {
    return this.state === 'started';
  }

  /** IRP_MN_START_DEVICE. Runs in a PASSIVE_LEVEL routine; on failure undoes what it did and throws WdfPnpError. */
  async start(hw: WdfHardwareResources): Promise<void> {
    if (this.state !== 'init' && this.state !== 'stopped') throw new WdfError(`startDevice: device ${this.name} is ${this.state}`, { device: this.name });
    const list = buildResourceList(this.kernel, hw);
    this.resources = list;
    const irqs = list.descriptors.filter((d): d is WdfCmInterruptDescriptor => d.type === 'CmResourceTypeInterrupt');
    let next = 0;
    for (const i of this.interrupts) if (!i.createdInPrepareHardware) i.resource = irqs[next++] ?? null;

    this.inPrepareHardware = true;
    let status: NTSTATUS;
    try {
      status = await this.invoke('EvtDevicePrepareHardware', this.callbacks.evtDevicePrepareHardware, list);
    } finally {
      this.inPrepareHardware = false;
    }
    if (!ntSuccess(status)) {
      await this.releaseHardware();
      throw new WdfPnpError('startDevice', status, `EvtDevicePrepareHardware returned ${ntStatusText(status)}`, { device: this.name });
    }
    const previous: WdfPowerDeviceState = 'WdfPowerDeviceD3Final';
    status = await this.invoke('EvtDeviceD0Entry', this.callbacks.evtDeviceD0Entry, previous);
    if (!ntSuccess(status)) {
      await this.releaseHardware();
      throw new WdfPnpError('startDevice', status, `EvtDeviceD0Entry returned ${ntStatusText(status)}`, { device: this.name });
    }
    for (const i of this.interrupts) {
      let s: NTSTATUS;
      let why = '';
      try {
        i.connect();
        s = i.connected ? await i.enable('EvtInterruptEnable') : 0;
      } catch (err) {
        // IoConnectInterruptEx refused (a line already connected without sharing...): the start fails.
        if (!(err instanceof KernelError)) throw err;
        s = NtStatus.STATUS_INSUFFICIENT_RESOURCES;
        why = `: IoConnectInterruptEx failed: ${err.message}`;
      }
      if (!ntSuccess(s)) {
        const which = i.describe();
        await this.powerDownInterrupts();
        await this.invoke('EvtDeviceD0Exit', this.callbacks.evtDeviceD0Exit, 'WdfPowerDeviceD3Final');
        await this.releaseHardware();
        throw new WdfPnpError('startDevice', s, why ? `connecting ${which}${why}` : `EvtInterruptEnable of ${which} returned ${ntStatusText(s)}`, { device: this.name });
      }
    }
    status = await this.invoke('EvtDeviceD0EntryPostInterruptsEnabled', this.callbacks.evtDeviceD0EntryPostInterruptsEnabled, previous);
    if (!ntSuccess(status)) {
      await this.powerDownInterrupts();
      await this.invoke('EvtDeviceD0Exit', this.callbacks.evtDeviceD0Exit, 'WdfPowerDeviceD3Final');
      await this.releaseHardware();
      throw new WdfPnpError('startDevice', status, `EvtDeviceD0EntryPostInterruptsEnabled returned ${ntStatusText(status)}`, { device: this.name });
    }
    this.state = 'started';
    for (const q of this.queues) if (q.powerManaged) q.powerUp();
  }

  /** IRP_MN_STOP_DEVICE (and the first half of removal). Runs in a PASSIVE_LEVEL routine. */
  async stop(): Promise<void> {
    if (this.state !== 'started') throw new WdfError(`stopDevice: device ${this.name} is ${this.state}`, { device: this.name });
    for (const q of this.queues) {
      if (!q.powerManaged || (await q.powerDownAndDrain(this.powerDownTimeoutMs))) continue;
      this.kernel.bugCheck(DRIVER_POWER_STATE_FAILURE, 0x3, this.handle, 0, 0, {
        api: 'IRP_MN_SET_POWER',
        message: `device ${this.name} could not leave D0: the driver kept requests of a power-managed queue for ${this.powerDownTimeoutMs} ms without completing them or acknowledging EvtIoStop (WdfRequestStopAcknowledge)`,
      });
    }
    const target: WdfPowerDeviceState = 'WdfPowerDeviceD3Final';
    this.note('EvtDeviceD0ExitPreInterruptsDisabled', await this.invoke('EvtDeviceD0ExitPreInterruptsDisabled', this.callbacks.evtDeviceD0ExitPreInterruptsDisabled, target));
    await this.powerDownInterrupts();
    this.note('EvtDeviceD0Exit', await this.invoke('EvtDeviceD0Exit', this.callbacks.evtDeviceD0Exit, target));
    await this.releaseHardware();
    this.state = 'stopped';
  }

  /** IRP_MN_REMOVE_DEVICE: stop if started, cancel queued requests, delete the device and its children. */
  async remove(cancelStatus: NTSTATUS): Promise<void> {
    if (this.state === 'removed') return;
    if (this.state === 'started') await this.stop();
    for (const q of this.queues) q.purge(cancelStatus);
    this.state = 'removed';
    this.handles.delete(this);
  }

  /**
   * IRP_MN_SURPRISE_REMOVAL then IRP_MN_REMOVE_DEVICE: EvtDeviceSurpriseRemoval first, then the
   * removal sequence (from D0: queues stopped, D0ExitPreInterruptsDisabled, EvtInterruptDisable,
   * interrupts disconnected, D0Exit, ReleaseHardware), queued requests completed with `cancelStatus`.
   */
  async surpriseRemove(cancelStatus: NTSTATUS): Promise<void> {
    if (this.state === 'removed') return;
    this.kernel.trace.record('wdf', `${this.name} surprise-removed`);
    this.note('EvtDeviceSurpriseRemoval', await this.invoke('EvtDeviceSurpriseRemoval', this.callbacks.evtDeviceSurpriseRemoval, undefined));
    await this.remove(cancelStatus);
  }

  /** EvtInterruptDisable (at DIRQL) then disconnect, for every connected interrupt, newest first. */
  private async powerDownInterrupts(): Promise<void> {
    for (const i of [...this.interrupts].reverse()) {
      if (!i.connected) continue;
      if (i.enabled) this.note(`EvtInterruptDisable of ${i.describe()}`, await i.disable('EvtInterruptDisable'));
      await i.disconnect();
    }
  }

  /** EvtDeviceReleaseHardware, then delete the interrupts created in EvtDevicePrepareHardware. */
  private async releaseHardware(): Promise<void> {
    const list = this.resources ?? { descriptors: [] };
    this.note('EvtDeviceReleaseHardware', await this.invoke('EvtDeviceReleaseHardware', this.callbacks.evtDeviceReleaseHardware, list));
    for (const i of [...this.interrupts]) {
      if (i.connected) await i.disconnect();
      if (i.createdInPrepareHardware) this.handles.delete(i);
      else i.resource = null;
    }
    this.resources = null;
  }

  private note(what: string, status: NTSTATUS): void {
    if (!ntSuccess(status)) log().warn({ device: this.name, status: ntStatusText(status) }, `${what} failed; the framework carries on (as KMDF does on power-down)`);
  }

  /** Call a PnP/power callback in the current routine (it shows in reports, and must return at PASSIVE_LEVEL). */
  private invoke<A>(wdfName: string, fn: ((device: WDFDEVICE, arg: A) => unknown) | undefined, arg: A): Promise<NTSTATUS> {
    if (!fn) return Promise.resolve(0);
    const handle = this.wdfHandle;
    return this.kernel.callRoutine(fn.name || wdfName, () => {
      this.pnpCalls.push({ handler: wdfName, irql: this.kernel.currentIrql() });
      return callStatus(() => fn(handle, arg) as never);
    });
  }

  protected override onDelete(): void {
    this.state = 'removed';
  }

  /** Called when a child interrupt is deleted. */
  forgetInterrupt(i: WdfInterruptObject): void {
    const n = this.interrupts.indexOf(i);
    if (n >= 0) this.interrupts.splice(n, 1);
  }
}

/** The CM resource list the driver sees: BARs mapped through the kernel (every access a preemption point). */
export function buildResourceList(kernel: Kernel, hw: WdfHardwareResources): WdfCmResourceList {
  const descriptors: WdfCmResourceDescriptor[] = [];
  (hw.memory ?? []).forEach((m, i) => {
    descriptors.push({
      type: 'CmResourceTypeMemory',
      start: m.start ?? 0,
      length: m.length ?? 0x20000,
      registers: new DeviceRegisters(kernel, m.registers, { name: m.name ?? `bar${i}`, ...(m.registerName ? { registerName: m.registerName } : {}) }),
    });
  });
  for (const irq of hw.interrupts ?? []) {
    const level = irq.irql ?? DEFAULT_DIRQL;
    descriptors.push({
      type: 'CmResourceTypeInterrupt',
      vector: irq.line,
      level,
      synchronizeIrql: irq.synchronizeIrql ?? level,
      affinity: irq.processors ? [...irq.processors] : null,
      shareDisposition: irq.shared === false ? 'CmResourceShareDeviceExclusive' : 'CmResourceShareShared',
    });
  }
  return { descriptors };
}
