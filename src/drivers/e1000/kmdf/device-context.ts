import { logger } from '../../../util/log.ts';
import {
  NtStatus,
  type NTSTATUS,
  type WdfFramework,
  type WDFDEVICE,
  type WDFINTERRUPT,
  type WDFQUEUE,
  type WDFREQUEST,
  type WDFSPINLOCK,
  type WDFTIMER,
} from '../../../wdf/index.ts';
import { E1000StateError } from '../errors.ts';
import {
  MAX_SEND_LENGTH,
  MIN_SEND_LENGTH,
  type AdapterLock,
  type E1000Adapter,
  type FrameSink,
  type MiniportEdge,
  type ReceiveBatch,
  type SendOutcome,
} from '../miniport/index.ts';
import type { LinkState } from '../nic.ts';
import { HeldFrames } from './held-frames.ts';
import { RequestFifo } from './request-fifo.ts';
import { copyBytes } from '../../../util/bytes.ts';

const log = logger('e1000.kmdf');

/** STATUS_BUFFER_OVERFLOW: a read whose buffer was too small got the start of the frame. */
export const STATUS_BUFFER_OVERFLOW: NTSTATUS = 0x80000005 | 0;

/** What the KMDF variant counts on top of the core. */
export interface KmdfDeviceCounters {
  /** EvtInterruptIsr calls, and those that recognised the interrupt. */
  isrCalls: number;
  isrRecognized: number;
  /** EvtInterruptDpc calls. */
  dpcCalls: number;
  /** EvtIoWrite calls, and write requests taken in all (the presented one plus those retrieved behind it). */
  writesPresented: number;
  writesTaken: number;
  /** Writes completed with STATUS_SUCCESS / STATUS_CANCELLED (halted before the NIC took them). */
  writesCompleted: number;
  writesCancelled: number;
  /** Writes failed at once: a frame of a bad length (STATUS_INVALID_PARAMETER). */
  writesInvalid: number;
  /** Writes failed because the device was leaving D0 (STATUS_DEVICE_NOT_READY). */
  writesRefused: number;
  /** EvtIoStop calls for writes the hardware still owned (acknowledged, completed at quiesce). */
  writesStopAcknowledged: number;
  /** Read requests completed with a frame; and those whose buffer was too small (STATUS_BUFFER_OVERFLOW). */
  readsCompleted: number;
  readsTruncated: number;
  /** Frames that waited for a read request (none was pending when they arrived). */
  framesHeld: number;
  /** Frames still waiting when the device left D0: dropped. */
  framesDroppedAtD0Exit: number;
  /** Runs of the timer that looks for read requests while frames wait. */
  retryTimerRuns: number;
  /** Link changes reported to the listener. */
  linkChanges: number;
}

/**
 * How the core's register read-modify-writes exclude the ISR: WdfInterruptSynchronize (a callback at
 * DIRQL), or WdfInterruptAcquireLock / WdfInterruptReleaseLock around the same code.
 */
export type KmdfInterruptLocking = 'synchronize' | 'acquire-lock';

export interface KmdfDeviceSettings {
  interruptLocking: KmdfInterruptLocking;
  /** Write requests one EvtIoWrite takes: the presented one and those queued behind it. */
  sendBatch: number;
  /** Milliseconds between looks for read requests while frames wait. */
  heldRetryMs: number;
  /** Receive descriptors: the most frames that can wait. */
  rxRingSize: number;
}

/**
 * The device context (WDF_DECLARE_CONTEXT_TYPE) of the KMDF e1000 driver: the WDF handles, the
 * framework-neutral core, write requests in flight and received frames waiting for reads. It is
 * also the core's MiniportEdge, implemented with KMDF calls.
 *
 * Upper edge (as Microsoft's pcidrv sample): each write request carries one frame and completes
 * when its TX descriptor does; read requests wait in a manual queue and are completed from the DPC
 * with received frames. A frame that finds no read waits (its descriptor is not refilled meanwhile,
 * so the NIC back-pressures rather than drops) until a read arrives.
 */
export class E1000KmdfDevice implements MiniportEdge {
  readonly wdf: WdfFramework;
  readonly settings: KmdfDeviceSettings;
  readonly counters: KmdfDeviceCounters = {
    isrCalls: 0,
    isrRecognized: 0,
    dpcCalls: 0,
    writesPresented: 0,
    writesTaken: 0,
    writesCompleted: 0,
    writesCancelled: 0,
    writesInvalid: 0,
    writesRefused: 0,
    writesStopAcknowledged: 0,
    readsCompleted: 0,
    readsTruncated: 0,
    framesHeld: 0,
    framesDroppedAtD0Exit: 0,
    retryTimerRuns: 0,
    linkChanges: 0,
  };
  device: WDFDEVICE | null = null;
  interrupt: WDFINTERRUPT | null = null;
  writeQueue: WDFQUEUE | null = null;
  readQueue: WDFQUEUE | null = null;
  deliverLock: WDFSPINLOCK | null = null;
  retryTimer: WDFTIMER | null = null;
  /** Created in EvtDevicePrepareHardware. */
  core: E1000Adapter | null = null;
  /** Link changes go here (where a KMDF NIC driver would complete a pended status IOCTL or fire a WMI event). */
  linkListener: ((link: LinkState) => void) | null = null;
  /** In D0 (between EvtDeviceD0Entry and EvtDeviceD0Exit). */
  inD0 = false;

  private readonly sending = new RequestFifo();
  private readonly held: HeldFrames;
  private retryArmed = false;

  constructor(wdf: WdfFramework, settings: KmdfDeviceSettings) {
    this.wdf = wdf;
    this.settings = settings;
    this.held = new HeldFrames(settings.rxRingSize);
  }

  /** Frames waiting for a read request now. */
  get framesWaiting(): number {
    return this.held.length;
  }

  // ---------------------------------------------------------------- MiniportEdge (core → KMDF)

  /**
   * WdfInterruptSynchronize with EvtInterruptSynchronize running the core's callback, or the same
   * callback between WdfInterruptAcquireLock and WdfInterruptReleaseLock.
   */
  synchronize(fn: () => boolean | Promise<boolean>): Promise<boolean> {
    const interrupt = this.require(this.interrupt, 'WDFINTERRUPT');
    if (this.settings.interruptLocking === 'synchronize') return this.wdf.wdfInterruptSynchronize(interrupt, EvtInterruptSynchronize, fn);
    return this.underInterruptLock(interrupt, fn);
  }

  /** WdfInterruptQueueDpcForIsr. */
  queueDpc(): boolean | Promise<boolean> {
    return this.wdf.wdfInterruptQueueDpcForIsr(this.require(this.interrupt, 'WDFINTERRUPT'));
  }

  /** WDFSPINLOCK (WdfSpinLockCreate, parented to the device): acquire raises to DISPATCH_LEVEL. */
  createLock(name: string): AdapterLock {
    const wdf = this.wdf;
    const lock = wdf.wdfSpinLockCreate({ parentObject: this.require(this.device, 'WDFDEVICE'), name });
    return {
      acquire: () => wdf.wdfSpinLockAcquire(lock),
      release: () => wdf.wdfSpinLockRelease(lock),
    };
  }

  /** KeDelayExecutionThread (PASSIVE_LEVEL). */
  delay(microseconds: number): Promise<void> {
    return this.wdf.kernel.delayExecution(microseconds / 1000);
  }

  /** KeQueryInterruptTime, in milliseconds. */
  upTimeMs(): number {
    return Number(this.wdf.kernel.queryInterruptTime() / 10_000n);
  }

  /**
   * Received frames complete pending read requests, oldest frame first (frames already waiting go
   * before these). Each frame is copied once, from the receive buffer into the read's buffer. What
   * finds no read waits, and the retry timer looks again.
   */
  async indicateReceive(batch: ReceiveBatch): Promise<void> {
    const wdf = this.wdf;
    const lock = this.require(this.deliverLock, 'WDFSPINLOCK');
    const readQueue = this.require(this.readQueue, 'WDFQUEUE');
    await wdf.wdfSpinLockAcquire(lock);
    let delivered: number;
    try {
      delivered = this.deliverHeldLocked();
      let i = 0;
      if (this.held.length === 0) {
        for (; i < batch.count; i++) {
          const request = wdf.wdfIoQueueRetrieveNextRequest(readQueue);
          if (request === null) break;
          this.completeRead(request, batch.views[i]!, batch.lengths[i]!);
          delivered++;
        }
      }
      for (; i < batch.count; i++) {
        this.held.push(batch.views[i]!, batch.lengths[i]!);
        this.counters.framesHeld++;
      }
      if (this.held.length > 0) this.armRetry();
    } finally {
      await wdf.wdfSpinLockRelease(lock);
    }
    if (delivered > 0) await this.requireCore().returnReceives(delivered);
  }

  /** The next `count` frames are finished: their write requests complete, in order. */
  completeSends(count: number, outcome: SendOutcome): void {
    const wdf = this.wdf;
    for (let i = 0; i < count; i++) {
      const request = this.sending.shift();
      if (request === null) throw new E1000StateError(`completeSends(${count}) with only ${i} write requests in flight`, { count, inFlight: i });
      if (outcome === 'sent') {
        this.counters.writesCompleted++;
        wdf.wdfRequestCompleteWithInformation(request, NtStatus.STATUS_SUCCESS, wdf.wdfRequestRetrieveInputBuffer(request).length);
      } else {
        this.counters.writesCancelled++;
        wdf.wdfRequestCompleteWithInformation(request, NtStatus.STATUS_CANCELLED, 0);
      }
    }
  }

  /** The link changed: tell the listener. */
  indicateLink(state: LinkState): void {
    this.counters.linkChanges++;
    this.linkListener?.({ ...state });
  }

  // ---------------------------------------------------------------- KMDF callbacks' bodies

  /**
   * EvtIoWrite (sequential write queue): the presented request and the ones queued behind it
   * (WdfIoQueueRetrieveNextRequest, as KMDF allows for a sequential queue before the current request
   * completes) go to the core as one send: one doorbell for the lot. Each completes when its frame's
   * TX descriptor does; the queue presents the next request once they all have.
   */
  async evtIoWrite(queue: WDFQUEUE, request: WDFREQUEST): Promise<void> {
    this.counters.writesPresented++;
    const wdf = this.wdf;
    const core = this.core;
    if (!core || !core.running) {
      this.counters.writesRefused++;
      wdf.wdfRequestComplete(request, NtStatus.STATUS_DEVICE_NOT_READY);
      return;
    }
    const sending = this.sending;
    const batch = this.settings.sendBatch;
    let before = -1;
    // The sink runs under the core's TX lock, after it was acquired: requests queued meanwhile are
    // retrieved too, and enter `sending` in exactly the order their frames reach the ring.
    const sink = (add: FrameSink): void => {
      before = sending.length;
      this.takeWrite(add, request);
      for (let n = 1; n < batch; n++) {
        const next = wdf.wdfIoQueueRetrieveNextRequest(queue);
        if (next === null) break;
        this.takeWrite(add, next);
      }
    };
    let taken: number;
    try {
      taken = await core.send(sink);
    } catch (err) {
      if (before >= 0) for (const r of sending.truncate(before)) wdf.wdfRequestComplete(r, NtStatus.STATUS_UNSUCCESSFUL);
      throw err;
    }
    if (taken === 0 && before < 0) {
      // Leaving D0 raced the write: the core takes nothing more.
      this.counters.writesRefused++;
      wdf.wdfRequestComplete(request, NtStatus.STATUS_DEVICE_NOT_READY);
    }
  }

  /**
   * EvtIoStop: the device is leaving D0 while the hardware (or the core's wait queue) has this
   * write. Keep it (WdfRequestStopAcknowledge without requeue): EvtDeviceD0ExitPreInterruptsDisabled
   * quiesces the NIC, which completes it as sent or cancelled.
   */
  evtIoStop(request: WDFREQUEST): void {
    this.counters.writesStopAcknowledged++;
    this.wdf.wdfRequestStopAcknowledge(request, false);
  }

  /** EvtInterruptIsr (DIRQL): the core's ISR body; the DPC only when the e1000 interrupted. */
  async evtInterruptIsr(interrupt: WDFINTERRUPT): Promise<boolean> {
    this.counters.isrCalls++;
    const core = this.core;
    if (!core) return false;
    const r = await core.isr();
    if (!r.recognized) return false;
    this.counters.isrRecognized++;
    if (r.queueDpc) await this.wdf.wdfInterruptQueueDpcForIsr(interrupt);
    return true;
  }

  /** EvtInterruptDpc (DISPATCH_LEVEL): the core's deferred body (it re-enables the NIC's interrupts). */
  async evtInterruptDpc(): Promise<void> {
    this.counters.dpcCalls++;
    await this.requireCore().dpc();
  }

  /** EvtTimerFunc of the retry timer (DISPATCH_LEVEL): frames waiting for reads get them if there are any now. */
  async retryTimerFired(): Promise<void> {
    this.retryArmed = false;
    this.counters.retryTimerRuns++;
    const wdf = this.wdf;
    const lock = this.require(this.deliverLock, 'WDFSPINLOCK');
    await wdf.wdfSpinLockAcquire(lock);
    let delivered: number;
    try {
      delivered = this.deliverHeldLocked();
      if (this.held.length > 0 && this.inD0) this.armRetry();
    } finally {
      await wdf.wdfSpinLockRelease(lock);
    }
    if (delivered > 0) await this.requireCore().returnReceives(delivered);
  }

  /** EvtDeviceD0ExitPreInterruptsDisabled's part: stop the retry timer, waiting for a run in progress. */
  async stopRetryTimer(): Promise<void> {
    if (this.retryTimer !== null) await this.wdf.wdfTimerStop(this.retryTimer, true);
    this.retryArmed = false;
  }

  /** EvtDeviceD0Exit's part: frames still waiting for reads are dropped (their buffers go with the rings). */
  dropHeldFrames(): number {
    const n = this.held.clear();
    this.counters.framesDroppedAtD0Exit += n;
    if (n > 0) log.debug({ frames: n }, 'received frames dropped at D0 exit: no read request came for them');
    return n;
  }

  // ---------------------------------------------------------------- internals

  private async underInterruptLock(interrupt: WDFINTERRUPT, fn: () => boolean | Promise<boolean>): Promise<boolean> {
    const wdf = this.wdf;
    await wdf.wdfInterruptAcquireLock(interrupt);
    try {
      return await fn();
    } finally {
      if (!wdf.kernel.stopped) await wdf.wdfInterruptReleaseLock(interrupt);
    }
  }

  /** Under deliverLock: complete reads with waiting frames, oldest first. Returns how many. */
  private deliverHeldLocked(): number {
    const held = this.held;
    if (held.length === 0) return 0;
    const readQueue = this.require(this.readQueue, 'WDFQUEUE');
    let n = 0;
    while (held.length > 0) {
      const request = this.wdf.wdfIoQueueRetrieveNextRequest(readQueue);
      if (request === null) break;
      this.completeRead(request, held.frontView, held.frontLength);
      held.shift();
      n++;
    }
    return n;
  }

  /** Copy one frame into a read's buffer and complete it with the length (truncated: STATUS_BUFFER_OVERFLOW). */
  private completeRead(request: WDFREQUEST, view: Uint8Array, length: number): void {
    const wdf = this.wdf;
    const out = wdf.wdfRequestRetrieveOutputBuffer(request);
    const n = Math.min(length, out.length);
    copyBytes.call(view, out, 0, 0, n);
    this.counters.readsCompleted++;
    if (n < length) {
      this.counters.readsTruncated++;
      wdf.wdfRequestCompleteWithInformation(request, STATUS_BUFFER_OVERFLOW, n);
    } else {
      wdf.wdfRequestCompleteWithInformation(request, NtStatus.STATUS_SUCCESS, n);
    }
  }

  /** One write request into the send: its frame to the sink, the request to `sending`; a bad length fails at once. */
  private takeWrite(add: FrameSink, request: WDFREQUEST): void {
    const wdf = this.wdf;
    const frame = wdf.wdfRequestRetrieveInputBuffer(request);
    if (frame.length < MIN_SEND_LENGTH || frame.length > MAX_SEND_LENGTH) {
      this.counters.writesInvalid++;
      wdf.wdfRequestComplete(request, NtStatus.STATUS_INVALID_PARAMETER);
      return;
    }
    add(frame, 0, frame.length);
    this.sending.push(request);
    this.counters.writesTaken++;
  }

  private armRetry(): void {
    if (this.retryArmed || this.retryTimer === null || !this.inD0) return;
    this.retryArmed = true;
    this.wdf.wdfTimerStart(this.retryTimer, this.settings.heldRetryMs);
  }

  private requireCore(): E1000Adapter {
    if (!this.core) throw new E1000StateError('the e1000 core does not exist outside PrepareHardware..ReleaseHardware', {});
    return this.core;
  }

  private require<T>(value: T | null, what: string): T {
    if (value === null) throw new E1000StateError(`the device context has no ${what} yet`, { what });
    return value;
  }
}

/** EvtInterruptSynchronize: runs the core's callback (its context) at DIRQL under the interrupt lock. */
function EvtInterruptSynchronize(_interrupt: WDFINTERRUPT, context: () => boolean | Promise<boolean>): boolean | Promise<boolean> {
  return context();
}
