import { logger } from '../../../util/log.ts';
import {
  NtStatus,
  type NTSTATUS,
  type WdfCmMemoryDescriptor,
  type WdfCmResourceList,
  type WdfDeviceInit,
  type WdfFramework,
  type WdfPowerDeviceState,
  type WDFDEVICE,
  type WDFDRIVER,
  type WDFINTERRUPT,
  type WDFQUEUE,
  type WDFREQUEST,
  type WDFTIMER,
} from '../../../wdf/index.ts';
import { E1000Adapter } from '../miniport/index.ts';
import type { E1000Settings } from '../settings.ts';
import type { RingDma, RingMemory } from '../ring-storage.ts';
import { E1000KmdfDevice, type KmdfInterruptLocking } from './device-context.ts';

const log = logger('e1000.kmdf');

/** The driver's configuration (what its registry parameters would hold), and its DMA memory. */
export interface E1000KmdfOptions extends E1000Settings {
  /**
   * Guest RAM and its allocator for the descriptor rings and buffers. The KMDF facade has no DMA
   * enabler (WdfDmaEnablerCreate / WdfCommonBufferCreate), so the host hands them to DriverEntry.
   */
  memory: RingMemory;
  dma: RingDma;
  /** Write requests one EvtIoWrite takes (the presented one and those queued behind it). Default txRingSize. */
  sendBatch?: number;
  /** Milliseconds between looks for read requests while received frames wait for one. Default 1. */
  heldRetryMs?: number;
  /** Register read-modify-writes at lower IRQL: WdfInterruptSynchronize (default) or WdfInterruptAcquireLock. */
  interruptLocking?: KmdfInterruptLocking;
}

/**
 * DriverEntry of the KMDF e1000 driver (shaped like Microsoft's pcidrv): WdfDriverCreate with
 * EvtDriverDeviceAdd; the device's callbacks are thin translations onto the framework-neutral core.
 *
 *   EvtDriverDeviceAdd            WdfDeviceCreate, WdfInterruptCreate (ISR, DPC, enable, disable),
 *                                 a sequential write queue, a manual read queue, a spin lock, a timer
 *   EvtDevicePrepareHardware      map BAR0 (the CmResourceTypeMemory descriptor), initialise the core
 *   EvtDeviceD0Entry              nothing waits for a read yet
 *   EvtInterruptEnable            IMS (DIRQL)
 *   D0EntryPostInterruptsEnabled  the core starts: causes unmasked through WdfInterruptSynchronize
 *   D0ExitPreInterruptsDisabled   the retry timer stops, the core quiesces (every write completed)
 *   EvtInterruptDisable           IMC (DIRQL)
 *   EvtDeviceD0Exit               frames still waiting for reads are dropped
 *   EvtDeviceReleaseHardware      the core's DMA memory freed
 *   EvtDeviceSurpriseRemoval      the NIC is gone: the core stops waiting on it (before the above)
 */
export function e1000KmdfDriverEntry(options: E1000KmdfOptions): (wdf: WdfFramework) => NTSTATUS {
  return function DriverEntry(wdf: WdfFramework): NTSTATUS {
    const ctxOf = (device: WDFDEVICE): E1000KmdfDevice => wdf.getContext<E1000KmdfDevice>(device);
    const txRingSize = options.txRingSize ?? 256;
    const rxRingSize = options.rxRingSize ?? 256;

    /** EvtDriverDeviceAdd (PASSIVE_LEVEL). */
    function E1000EvtDeviceAdd(_driver: WDFDRIVER, deviceInit: WdfDeviceInit): NTSTATUS {
      const ctx = new E1000KmdfDevice(wdf, {
        sendBatch: Math.max(1, options.sendBatch ?? txRingSize),
        heldRetryMs: options.heldRetryMs ?? 1,
        rxRingSize,
        interruptLocking: options.interruptLocking ?? 'synchronize',
      });
      const device = wdf.wdfDeviceCreate(
        deviceInit,
        {
          evtDevicePrepareHardware: E1000EvtDevicePrepareHardware,
          evtDeviceReleaseHardware: E1000EvtDeviceReleaseHardware,
          evtDeviceD0Entry: E1000EvtDeviceD0Entry,
          evtDeviceD0EntryPostInterruptsEnabled: E1000EvtDeviceD0EntryPostInterruptsEnabled,
          evtDeviceD0ExitPreInterruptsDisabled: E1000EvtDeviceD0ExitPreInterruptsDisabled,
          evtDeviceD0Exit: E1000EvtDeviceD0Exit,
          evtDeviceSurpriseRemoval: E1000EvtDeviceSurpriseRemoval,
        },
        { context: ctx },
      );
      ctx.device = device;
      ctx.interrupt = wdf.wdfInterruptCreate(device, {
        evtInterruptIsr: E1000EvtInterruptIsr,
        evtInterruptDpc: E1000EvtInterruptDpc,
        evtInterruptEnable: E1000EvtInterruptEnable,
        evtInterruptDisable: E1000EvtInterruptDisable,
      });
      ctx.writeQueue = wdf.wdfIoQueueCreate(device, { dispatch: 'sequential', evtIoWrite: E1000EvtIoWrite, evtIoStop: E1000EvtIoStop });
      wdf.wdfDeviceConfigureRequestDispatching(device, ctx.writeQueue, 'write');
      // Reads go straight to a manual queue: the DPC retrieves one per received frame.
      ctx.readQueue = wdf.wdfIoQueueCreate(device, { dispatch: 'manual' });
      wdf.wdfDeviceConfigureRequestDispatching(device, ctx.readQueue, 'read');
      ctx.deliverLock = wdf.wdfSpinLockCreate({ parentObject: device, name: 'e1000 read delivery' });
      ctx.retryTimer = wdf.wdfTimerCreate({ evtTimerFunc: E1000EvtRetryTimer }, { parentObject: device });
      return NtStatus.STATUS_SUCCESS;
    }

    /** EvtDevicePrepareHardware (PASSIVE_LEVEL): BAR0 mapped, the core created and initialised (NIC reset, rings, MAC, link). */
    async function E1000EvtDevicePrepareHardware(device: WDFDEVICE, resources: WdfCmResourceList): Promise<NTSTATUS> {
      const ctx = ctxOf(device);
      const bar0 = resources.descriptors.find((d): d is WdfCmMemoryDescriptor => d.type === 'CmResourceTypeMemory');
      if (!bar0) {
        log.error('EvtDevicePrepareHardware: no memory resource (BAR0)');
        return NtStatus.STATUS_INSUFFICIENT_RESOURCES;
      }
      const core = new E1000Adapter(ctx, {
        registers: bar0.registers,
        memory: options.memory,
        dma: options.dma,
        txRingSize,
        rxRingSize,
        receiveBatch: options.receiveBatch,
        receiveBudget: options.receiveBudget,
        throttle: options.throttle,
        mac: options.mac,
        filter: options.filter,
        tag: 'e1000 kmdf',
      });
      ctx.core = core;
      try {
        await core.initialize();
      } catch (err) {
        log.error({ err }, 'EvtDevicePrepareHardware: the NIC did not initialise');
        return NtStatus.STATUS_UNSUCCESSFUL;
      }
      return NtStatus.STATUS_SUCCESS;
    }

    /** EvtDeviceD0Entry (PASSIVE_LEVEL, interrupts not connected yet). */
    function E1000EvtDeviceD0Entry(device: WDFDEVICE, _previous: WdfPowerDeviceState): NTSTATUS {
      const ctx = ctxOf(device);
      ctx.inD0 = true;
      return NtStatus.STATUS_SUCCESS;
    }

    /** EvtInterruptEnable (DIRQL, interrupt lock held). */
    async function E1000EvtInterruptEnable(_interrupt: WDFINTERRUPT, device: WDFDEVICE): Promise<NTSTATUS> {
      await ctxOf(device).core?.enableInterruptAtDirql();
      return NtStatus.STATUS_SUCCESS;
    }

    /** EvtDeviceD0EntryPostInterruptsEnabled (PASSIVE_LEVEL): the core starts (causes unmasked through WdfInterruptSynchronize). */
    async function E1000EvtDeviceD0EntryPostInterruptsEnabled(device: WDFDEVICE): Promise<NTSTATUS> {
      const core = ctxOf(device).core!;
      try {
        await core.start();
      } catch (err) {
        log.error({ err }, 'the core did not start');
        // Quiesce while the interrupt is still connected (its synchronize needs it).
        if (core.state === 'running') await core.quiesce();
        return NtStatus.STATUS_UNSUCCESSFUL;
      }
      return NtStatus.STATUS_SUCCESS;
    }

    /** EvtDeviceD0ExitPreInterruptsDisabled (PASSIVE_LEVEL, interrupts still connected): the NIC quiet, every write completed. */
    async function E1000EvtDeviceD0ExitPreInterruptsDisabled(device: WDFDEVICE): Promise<NTSTATUS> {
      const ctx = ctxOf(device);
      await ctx.stopRetryTimer();
      const core = ctx.core;
      if (core && (core.state === 'running' || core.state === 'initialized')) await core.quiesce();
      return NtStatus.STATUS_SUCCESS;
    }

    /** EvtInterruptDisable (DIRQL, interrupt lock held). */
    async function E1000EvtInterruptDisable(_interrupt: WDFINTERRUPT, device: WDFDEVICE): Promise<NTSTATUS> {
      await ctxOf(device).core?.disableInterruptAtDirql();
      return NtStatus.STATUS_SUCCESS;
    }

    /** EvtDeviceD0Exit (PASSIVE_LEVEL, interrupts disconnected: no ISR or DPC any more). */
    function E1000EvtDeviceD0Exit(device: WDFDEVICE, _target: WdfPowerDeviceState): NTSTATUS {
      const ctx = ctxOf(device);
      ctx.inD0 = false;
      ctx.dropHeldFrames();
      return NtStatus.STATUS_SUCCESS;
    }

    /** EvtDeviceSurpriseRemoval (PASSIVE_LEVEL, before the power-down): the NIC is not touched or waited on again. */
    function E1000EvtDeviceSurpriseRemoval(device: WDFDEVICE): void {
      ctxOf(device).core?.surpriseRemoved();
    }

    /** EvtDeviceReleaseHardware (PASSIVE_LEVEL): the rings' DMA memory freed. */
    async function E1000EvtDeviceReleaseHardware(device: WDFDEVICE): Promise<NTSTATUS> {
      const core = ctxOf(device).core;
      if (!core) return NtStatus.STATUS_SUCCESS;
      // Initialised but never started (a failed start): nothing to synchronize with.
      if (core.state === 'initialized') await core.quiesce();
      if (core.state === 'quiesced') core.release();
      return NtStatus.STATUS_SUCCESS;
    }

    /** EvtInterruptIsr (DIRQL): read ICR through the core; WdfInterruptQueueDpcForIsr if it was the e1000. */
    function E1000EvtInterruptIsr(interrupt: WDFINTERRUPT, _messageId: number): Promise<boolean> {
      return ctxOf(wdf.wdfInterruptGetDevice(interrupt)).evtInterruptIsr(interrupt);
    }

    /** EvtInterruptDpc (DISPATCH_LEVEL). */
    function E1000EvtInterruptDpc(_interrupt: WDFINTERRUPT, device: unknown): Promise<void> {
      return ctxOf(device as WDFDEVICE).evtInterruptDpc();
    }

    /** EvtIoWrite. */
    function E1000EvtIoWrite(queue: WDFQUEUE, request: WDFREQUEST, _length: number): Promise<void> {
      return ctxOf(wdf.wdfIoQueueGetDevice(queue)).evtIoWrite(queue, request);
    }

    /** EvtIoStop. */
    function E1000EvtIoStop(queue: WDFQUEUE, request: WDFREQUEST, _action: 'suspend' | 'purge'): void {
      ctxOf(wdf.wdfIoQueueGetDevice(queue)).evtIoStop(request);
    }

    /** EvtTimerFunc of the read-retry timer (DISPATCH_LEVEL). */
    function E1000EvtRetryTimer(timer: WDFTIMER): Promise<void> {
      return ctxOf(wdf.wdfTimerGetParentObject(timer) as WDFDEVICE).retryTimerFired();
    }

    wdf.wdfDriverCreate({ evtDriverDeviceAdd: E1000EvtDeviceAdd });
    return NtStatus.STATUS_SUCCESS;
  };
}
