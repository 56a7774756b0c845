import { BugCheckCode, Dpc, Irql, irqlName, type InterruptObject, type Kernel } from '../kernel/index.ts';
import { WdfViolation } from './bugcodes.ts';
import { WdfObject, type WDFDEVICE, type WDFINTERRUPT } from './handles.ts';
import type { CallbackLock } from './locks.ts';
import { NtStatus, ntSuccess, type NTSTATUS } from './ntstatus.ts';
import { callStatus, namedFunction } from './status.ts';
import type { EvtInterruptSynchronize, WdfCmInterruptDescriptor, WdfInterruptConfig, WdfInterruptInfo } from './types.ts';
import { PassiveWorkItem } from './work-item.ts';

type KernelSyncCallback = (context: unknown) => boolean | Promise<boolean>;

/**
 * WDFINTERRUPT (FxInterrupt). Created in EvtDriverDeviceAdd or EvtDevicePrepareHardware; given an
 * interrupt resource at start; connected to the kernel (IoConnectInterruptEx) after
 * EvtDeviceD0Entry and enabled (EvtInterruptEnable at DIRQL under the interrupt lock);
 * disabled and disconnected before EvtDeviceD0Exit. Its DPC and work item belong to it: disconnect
 * removes a queued DPC and waits for a running one, and the work item is flushed.
 */
export class WdfInterruptObject extends WdfObject {
  readonly type = 'WDFINTERRUPT' as const;
  readonly kernel: Kernel;
  readonly config: WdfInterruptConfig;
  readonly deviceHandle: WDFDEVICE;
  readonly passive: boolean;
  readonly createdInPrepareHardware: boolean;
  readonly isrName: string;
  /** The DPC: EvtInterruptDpc, or the DIRQL hop of wdfInterruptQueueWorkItemForIsr. */
  readonly dpc: Dpc | null;
  readonly workItem: PassiveWorkItem | null;
  readonly callbackLock: CallbackLock | null;
  resource: WdfCmInterruptDescriptor | null;
  kernelInterrupt: InterruptObject | null = null;
  /** EvtInterruptEnable succeeded and EvtInterruptDisable has not run since. */
  enabled = false;
  /** IRQL to restore on WdfInterruptReleaseLock (FxInterrupt::m_OldIrql). */
  lockOldIrql: number = Irql.PASSIVE_LEVEL;
  /** Set by the framework: unlink from the device when deleted. */
  onDeleted: (() => void) | undefined;
  private readonly syncThunks = new Map<EvtInterruptSynchronize<never>, KernelSyncCallback>();
  private readonly enableThunk: KernelSyncCallback;
  private readonly disableThunk: KernelSyncCallback;
  private lastSyncStatus: NTSTATUS = NtStatus.STATUS_SUCCESS;

  constructor(
    kernel: Kernel,
    deviceHandle: WDFDEVICE,
    config: WdfInterruptConfig,
    opts: {
      createdInPrepareHardware: boolean;
      callbackLock: CallbackLock | null;
    },
  ) {
    super();
    this.kernel = kernel;
    this.config = config;
    this.deviceHandle = deviceHandle;
    this.passive = config.passiveHandling === true;
    this.createdInPrepareHardware = opts.createdInPrepareHardware;
    this.callbackLock = opts.callbackLock;
    this.resource = config.interruptTranslated ?? null;
    this.isrName = config.name ?? (config.evtInterruptIsr.name || 'EvtInterruptIsr');
    this.workItem = config.evtInterruptWorkItem
      ? new PassiveWorkItem(
          kernel,
          config.evtInterruptWorkItem.name || 'EvtInterruptWorkItem',
          () => config.evtInterruptWorkItem!(this.handle as WDFINTERRUPT, this.deviceHandle),
          opts.callbackLock,
        )
      : null;
    if (config.evtInterruptDpc) {
      this.dpc = new Dpc(() => this.runDpc(), this, config.evtInterruptDpc.name || 'EvtInterruptDpc');
    } else if (this.workItem) {
      const item = this.workItem;
      this.dpc = new Dpc(
        () => {
          item.enqueue();
        },
        this,
        `${item.name} (queued from DIRQL)`,
      );
    } else {
      this.dpc = null;
    }
    this.enableThunk = namedFunction(config.evtInterruptEnable?.name || 'EvtInterruptEnable', async () => {
      this.lastSyncStatus = await callStatus(() => config.evtInterruptEnable!(this.handle as WDFINTERRUPT, this.deviceHandle));
      return true;
    });
    this.disableThunk = namedFunction(config.evtInterruptDisable?.name || 'EvtInterruptDisable', async () => {
      this.lastSyncStatus = await callStatus(() => config.evtInterruptDisable!(this.handle as WDFINTERRUPT, this.deviceHandle));
      return true;
    });
  }

  get wdfHandle(): WDFINTERRUPT {
    return this.handle as WDFINTERRUPT;
  }

  get connected(): boolean {
    return this.kernelInterrupt !== null && !this.kernelInterrupt.disconnected;
  }

  /** The kernel interrupt object, or WDF_VIOLATION (WDF_INVALID_INTERRUPT) if it is not connected. */
  requireConnected(api: string): InterruptObject {
    const k = this.kernelInterrupt;
    if (k && !k.disconnected) return k;
    this.kernel.bugCheck(BugCheckCode.WDF_VIOLATION, WdfViolation.WDF_INVALID_INTERRUPT, this.handle, 0, 0, {
      api,
      message:
        `${api} on WDFINTERRUPT 0x${this.handle.toString(16)} (${this.isrName}), which is not connected: ` +
        'interrupts are connected after EvtDeviceD0Entry and disconnected before EvtDeviceD0Exit ' +
        '(use EvtDeviceD0EntryPostInterruptsEnabled / EvtDeviceD0ExitPreInterruptsDisabled)',
    });
  }

  /** The IRQL its ISR and synchronize callbacks run at (PASSIVE_LEVEL for passive handling). */
  get synchronizeIrql(): number {
    if (this.passive) return Irql.PASSIVE_LEVEL;
    return this.kernelInterrupt?.synchronizeIrql ?? this.resource?.synchronizeIrql ?? Irql.HIGH_LEVEL;
  }

  /** IoConnectInterruptEx with the assigned resource. No resource: stays unconnected (as KMDF does). */
  connect(): void {
    const r = this.resource;
    if (!r || this.connected) return;
    const shareVector = this.config.shareVector ?? r.shareDisposition === 'CmResourceShareShared';
    this.kernelInterrupt = this.kernel.connectInterrupt({
      line: r.vector,
      irql: r.level,
      synchronizeIrql: r.synchronizeIrql,
      shareVector,
      passive: this.passive,
      name: this.isrName,
      isr: this.isrThunk,
      context: this,
      ...(r.affinity ? { processors: r.affinity } : {}),
      ...(this.dpc ? { dpcs: [this.dpc] } : {}),
    });
  }

  private readonly isrThunk = (): boolean | Promise<boolean> => this.config.evtInterruptIsr(this.handle as WDFINTERRUPT, 0);

  /** EvtInterruptEnable at the synchronize IRQL under the interrupt lock. */
  async enable(api: string): Promise<NTSTATUS> {
    const k = this.requireConnected(api);
    let status: NTSTATUS = NtStatus.STATUS_SUCCESS;
    if (this.config.evtInterruptEnable) {
      await this.kernel.synchronizeExecution(k, this.enableThunk);
      status = this.lastSyncStatus;
    }
    this.enabled = ntSuccess(status);
    return status;
  }

  /** EvtInterruptDisable at the synchronize IRQL under the interrupt lock. */
  async disable(api: string): Promise<NTSTATUS> {
    const k = this.requireConnected(api);
    let status: NTSTATUS = NtStatus.STATUS_SUCCESS;
    if (this.config.evtInterruptDisable) {
      await this.kernel.synchronizeExecution(k, this.disableThunk);
      status = this.lastSyncStatus;
    }
    this.enabled = false;
    return status;
  }

  /** IoDisconnectInterruptEx (waits for a running ISR and the DPC), then flush the work item. */
  async disconnect(): Promise<void> {
    const k = this.kernelInterrupt;
    if (k) await k.disconnectWithDpcs();
    this.kernelInterrupt = null;
    this.enabled = false;
    if (this.workItem) await this.workItem.flush();
  }

  /** WdfInterruptSynchronize's callback adapter, made once per callback so the hot path allocates nothing. */
  syncThunk<C>(callback: EvtInterruptSynchronize<C>): KernelSyncCallback {
    let thunk = this.syncThunks.get(callback as EvtInterruptSynchronize<never>);
    if (!thunk) {
      const handle = this.handle as WDFINTERRUPT;
      thunk = namedFunction(callback.name || 'EvtInterruptSynchronize', (context: unknown) => callback(handle, context as C));
      this.syncThunks.set(callback as EvtInterruptSynchronize<never>, thunk);
    }
    return thunk;
  }

  /** The framework's DPC routine: EvtInterruptDpc, under the callback lock with automatic serialization. */
  private async runDpc(): Promise<void> {
    const lock = this.callbackLock;
    const dpcCallback = this.config.evtInterruptDpc!;
    if (!lock) {
      await dpcCallback(this.handle as WDFINTERRUPT, this.deviceHandle);
      return;
    }
    const old = await lock.acquire();
    try {
      await dpcCallback(this.handle as WDFINTERRUPT, this.deviceHandle);
    } finally {
      if (!this.kernel.stopped) await lock.release(old);
    }
  }

  info(): WdfInterruptInfo {
    const r = this.resource;
    return {
      vector: r?.vector ?? 0,
      irql: this.passive ? Irql.PASSIVE_LEVEL : (r?.level ?? 0),
      synchronizeIrql: this.passive ? Irql.PASSIVE_LEVEL : (r?.synchronizeIrql ?? 0),
      mode: 'LevelSensitive',
      shareDisposition: r?.shareDisposition ?? 'CmResourceShareUndetermined',
      messageSignaled: false,
      messageNumber: 0,
      targetProcessorSet: r?.affinity ?? null,
      group: 0,
    };
  }

  protected override onDelete(): void {
    this.onDeleted?.();
  }

  describe(): string {
    const r = this.resource;
    return `${this.isrName} (WDFINTERRUPT 0x${this.handle.toString(16)}${r ? `, line ${r.vector} at ${this.passive ? 'PASSIVE_LEVEL' : irqlName(r.level)}` : ', no resource'})`;
  }
}
