import type { DeviceRegisters, RegisterBackend } from '../kernel/index.ts';
import type { NTSTATUS } from './ntstatus.ts';
import type { WDFDEVICE, WDFDRIVER, WDFINTERRUPT, WDFOBJECT, WDFQUEUE, WDFREQUEST, WDFSPINLOCK, WDFTIMER, WDFWAITLOCK, WDFWORKITEM, WdfObjectAttributes } from './handles.ts';

export type MaybePromise<T> = T | Promise<T>;

/** What a driver callback that returns NTSTATUS in C returns here: a status, or nothing for STATUS_SUCCESS. */
export type StatusResult = MaybePromise<NTSTATUS | void>;

/** PFN_WDF_DRIVER_DEVICE_ADD and friends (WDF_DRIVER_CONFIG). */
export interface WdfDriverConfig {
  /** EvtDriverDeviceAdd (PASSIVE_LEVEL): create the device, its queues and interrupts. */
  evtDriverDeviceAdd(driver: WDFDRIVER, deviceInit: WdfDeviceInit): StatusResult;
  /** EvtDriverUnload (PASSIVE_LEVEL). */
  evtDriverUnload?(driver: WDFDRIVER): MaybePromise<void>;
}

/** PWDFDEVICE_INIT: valid only during the EvtDriverDeviceAdd call it was passed to. */
export interface WdfDeviceInit {
  readonly __wdfDeviceInit: true;
}

/** WDF_POWER_DEVICE_STATE. */
export type WdfPowerDeviceState =
  'WdfPowerDeviceD0' | 'WdfPowerDeviceD1' | 'WdfPowerDeviceD2' | 'WdfPowerDeviceD3' | 'WdfPowerDeviceD3Final' | 'WdfPowerDevicePrepareForHibernation';

/** WDF_PNPPOWER_EVENT_CALLBACKS (all at PASSIVE_LEVEL). */
export interface WdfPnpPowerEventCallbacks {
  /** EvtDevicePrepareHardware: map the BAR (resources), read the MAC... */
  evtDevicePrepareHardware?(device: WDFDEVICE, resourcesTranslated: WdfCmResourceList): StatusResult;
  /** EvtDeviceReleaseHardware: also called when EvtDevicePrepareHardware failed. */
  evtDeviceReleaseHardware?(device: WDFDEVICE, resourcesTranslated: WdfCmResourceList): StatusResult;
  /** EvtDeviceD0Entry: before the interrupts are connected and enabled. */
  evtDeviceD0Entry?(device: WDFDEVICE, previousState: WdfPowerDeviceState): StatusResult;
  /** EvtDeviceD0EntryPostInterruptsEnabled. */
  evtDeviceD0EntryPostInterruptsEnabled?(device: WDFDEVICE, previousState: WdfPowerDeviceState): StatusResult;
  /** EvtDeviceD0ExitPreInterruptsDisabled. */
  evtDeviceD0ExitPreInterruptsDisabled?(device: WDFDEVICE, targetState: WdfPowerDeviceState): StatusResult;
  /** EvtDeviceD0Exit: after the interrupts are disabled and disconnected. */
  evtDeviceD0Exit?(device: WDFDEVICE, targetState: WdfPowerDeviceState): StatusResult;
  /** EvtDeviceSurpriseRemoval: the device is gone; called before every other callback of the removal. */
  evtDeviceSurpriseRemoval?(device: WDFDEVICE): MaybePromise<void>;
}

/** WdfSynchronizationScope (Device: one callback lock for the device and its queues). */
export type WdfSynchronizationScope = 'device' | 'queue' | 'none';
/** WdfExecutionLevel: the callback lock is a spin lock (dispatch) or a wait lock (passive). */
export type WdfExecutionLevel = 'dispatch' | 'passive';

/** WDF_OBJECT_ATTRIBUTES of a device. */
export interface WdfDeviceAttributes<C = unknown> extends Omit<WdfObjectAttributes<C>, 'parentObject'> {
  /** Default 'none' (KMDF's default through InheritFromParent). */
  synchronizationScope?: WdfSynchronizationScope;
  /** Default 'dispatch'. */
  executionLevel?: WdfExecutionLevel;
}

// ------------------------------------------------------------------ resources

/** A CmResourceTypeMemory descriptor: the BAR, already mapped (MmMapIoSpaceEx) as `registers`. */
export interface WdfCmMemoryDescriptor {
  readonly type: 'CmResourceTypeMemory';
  readonly start: number;
  readonly length: number;
  /** The mapped registers: every access is a kernel preemption point. */
  readonly registers: DeviceRegisters;
}

/** A CmResourceTypeInterrupt descriptor (line-based, level-sensitive). */
export interface WdfCmInterruptDescriptor {
  readonly type: 'CmResourceTypeInterrupt';
  /** The interrupt line (u.Interrupt.Vector). */
  readonly vector: number;
  /** DIRQL (u.Interrupt.Level). */
  readonly level: number;
  readonly synchronizeIrql: number;
  /** Processors that may take it; null = all. */
  readonly affinity: readonly number[] | null;
  readonly shareDisposition: 'CmResourceShareShared' | 'CmResourceShareDeviceExclusive';
}

export type WdfCmResourceDescriptor = WdfCmMemoryDescriptor | WdfCmInterruptDescriptor;

/** WDFCMRESLIST (the translated list; raw and translated are the same here). */
export interface WdfCmResourceList {
  readonly descriptors: readonly WdfCmResourceDescriptor[];
}

/** What the host (PnP manager) hands to startDevice: the BARs and interrupt lines of the device. */
export interface WdfHardwareResources {
  memory?: readonly {
    registers: RegisterBackend;
    /** Bus address of the BAR (shown to the driver). Default 0. */
    start?: number;
    /** Default 0x20000 (the e1000's 128 KiB BAR0). */
    length?: number;
    /** Name in the kernel trace. Default 'bar0', 'bar1'... */
    name?: string;
    registerName?: (offset: number) => string | undefined;
  }[];
  interrupts?: readonly {
    line: number;
    /** DIRQL. Default the kernel's DEFAULT_DIRQL. */
    irql?: number;
    synchronizeIrql?: number;
    processors?: readonly number[];
    /** Default true (PCI INTx lines are shareable). */
    shared?: boolean;
  }[];
}

// ------------------------------------------------------------------ interrupts

/** EVT_WDF_INTERRUPT_SYNCHRONIZE: runs at DIRQL holding the interrupt spin lock. */
export type EvtInterruptSynchronize<C = unknown> = (interrupt: WDFINTERRUPT, context: C) => MaybePromise<boolean>;

/** WDF_INTERRUPT_CONFIG. */
export interface WdfInterruptConfig {
  /** EvtInterruptIsr (DIRQL, or PASSIVE_LEVEL with passiveHandling): true if the device interrupted. */
  evtInterruptIsr(interrupt: WDFINTERRUPT, messageId: number): MaybePromise<boolean>;
  /** EvtInterruptDpc (DISPATCH_LEVEL), queued with wdfInterruptQueueDpcForIsr. */
  evtInterruptDpc?(interrupt: WDFINTERRUPT, associatedObject: WDFOBJECT): MaybePromise<void>;
  /** EvtInterruptWorkItem (PASSIVE_LEVEL), queued with wdfInterruptQueueWorkItemForIsr. Not with evtInterruptDpc. */
  evtInterruptWorkItem?(interrupt: WDFINTERRUPT, associatedObject: WDFOBJECT): MaybePromise<void>;
  /** EvtInterruptEnable: at DIRQL under the interrupt lock, after EvtDeviceD0Entry. */
  evtInterruptEnable?(interrupt: WDFINTERRUPT, associatedDevice: WDFDEVICE): StatusResult;
  /** EvtInterruptDisable: at DIRQL under the interrupt lock, before EvtDeviceD0Exit. */
  evtInterruptDisable?(interrupt: WDFINTERRUPT, associatedDevice: WDFDEVICE): StatusResult;
  /** PassiveHandling: ISR at PASSIVE_LEVEL under the passive-level interrupt lock. */
  passiveHandling?: boolean;
  /** AutomaticSerialization: the DPC / work item runs under the parent's (device's or queue's) callback lock. */
  automaticSerialization?: boolean;
  /** SpinLock: a WDFSPINLOCK to use as the interrupt spin lock (shared by several interrupts). Not supported yet. */
  spinLock?: WDFSPINLOCK;
  /** WaitLock: for passive handling. Not supported yet. */
  waitLock?: WDFWAITLOCK;
  /** ShareVector: undefined is WdfUseDefault (the resource's share disposition). */
  shareVector?: boolean;
  /** InterruptTranslated: required when created in EvtDevicePrepareHardware, forbidden in EvtDriverDeviceAdd. */
  interruptTranslated?: WdfCmInterruptDescriptor;
  /** Name of the ISR in traces and bug check reports. Default the ISR function's name. */
  name?: string;
}

/** WDF_INTERRUPT_INFO. */
export interface WdfInterruptInfo {
  readonly vector: number;
  readonly irql: number;
  readonly synchronizeIrql: number;
  readonly mode: 'LevelSensitive';
  readonly shareDisposition: 'CmResourceShareShared' | 'CmResourceShareDeviceExclusive' | 'CmResourceShareUndetermined';
  readonly messageSignaled: false;
  readonly messageNumber: 0;
  readonly targetProcessorSet: readonly number[] | null;
  readonly group: 0;
}

// ------------------------------------------------------------------ I/O

/** WDF_IO_QUEUE_DISPATCH_TYPE. */
export type WdfIoQueueDispatchType = 'sequential' | 'parallel' | 'manual';

/** WDF_IO_QUEUE_CONFIG. */
export interface WdfIoQueueConfig {
  dispatch: WdfIoQueueDispatchType;
  /** DefaultQueue: receives every request type not routed elsewhere. */
  defaultQueue?: boolean;
  /** PowerManaged: requests are delivered only while the device is in D0. Default true. */
  powerManaged?: boolean;
  /** EvtIoWrite (<= DISPATCH_LEVEL). */
  evtIoWrite?(queue: WDFQUEUE, request: WDFREQUEST, length: number): MaybePromise<void>;
  /** EvtIoRead (<= DISPATCH_LEVEL). */
  evtIoRead?(queue: WDFQUEUE, request: WDFREQUEST, length: number): MaybePromise<void>;
  /** EvtIoDefault: requests with no type-specific callback. */
  evtIoDefault?(queue: WDFQUEUE, request: WDFREQUEST): MaybePromise<void>;
  /**
   * EvtIoStop (<= DISPATCH_LEVEL): the device is leaving D0 and the driver owns `request`: complete
   * it, or call wdfRequestStopAcknowledge (requeue or keep). Without it the framework waits for completion.
   */
  evtIoStop?(queue: WDFQUEUE, request: WDFREQUEST, action: 'suspend' | 'purge'): MaybePromise<void>;
  /** EvtIoResume: back in D0, for each request the driver kept with wdfRequestStopAcknowledge(request, false). */
  evtIoResume?(queue: WDFQUEUE, request: WDFREQUEST): MaybePromise<void>;
}

/** WDF_OBJECT_ATTRIBUTES of a queue. */
export interface WdfQueueAttributes<C = unknown> extends Omit<WdfObjectAttributes<C>, 'parentObject'> {
  /** Default: the device's scope ('queue' gives the queue a lock of its own). */
  synchronizationScope?: WdfSynchronizationScope;
  executionLevel?: WdfExecutionLevel;
}

export type WdfRequestType = 'write' | 'read';

/** WDF_REQUEST_PARAMETERS (the part a NIC needs). */
export interface WdfRequestParameters {
  readonly type: WdfRequestType;
  readonly length: number;
}

/** How a request submitted by the host ended. */
export interface WdfRequestCompletion {
  readonly status: NTSTATUS;
  readonly information: number;
}

/**
 * Completion callback of submitWriteNotify/submitReadNotify: the request's status and information,
 * its buffer (the frame sent, or the read buffer now holding a frame) and the caller's tag. If the
 * driver crashed instead, `crash` is the BugCheckError and status/information are 0.
 */
export type WdfRequestDone<T> = (status: NTSTATUS, information: number, buffer: Uint8Array, tag: T, crash: unknown) => void;

/** WDF_WORKITEM_CONFIG. */
export interface WdfWorkItemConfig {
  evtWorkItem(workItem: WDFWORKITEM): MaybePromise<void>;
  /** AutomaticSerialization with the parent's passive callback lock. */
  automaticSerialization?: boolean;
}

/** WDF_TIMER_CONFIG. */
export interface WdfTimerConfig {
  /** EvtTimerFunc (DISPATCH_LEVEL). */
  evtTimerFunc(timer: WDFTIMER): MaybePromise<void>;
  /** Period in ms; 0 or absent: one-shot. */
  period?: number;
  /** AutomaticSerialization with the parent's callback spin lock. Default true, as WDF_TIMER_CONFIG_INIT sets it. */
  automaticSerialization?: boolean;
}
