import { Irql, type Kernel } from '../kernel/index.ts';
import type { DeviceQueue, WdfDeviceObject } from './device.ts';
import { WdfObject, type WDFQUEUE, type WDFREQUEST } from './handles.ts';
import { makeCallbackLock, type CallbackLock } from './locks.ts';
import { NtStatus, type NTSTATUS } from './ntstatus.ts';
import type { WdfRequestObject } from './request.ts';
import type { WdfIoQueueConfig, WdfIoQueueDispatchType, WdfQueueAttributes } from './types.ts';

/**
 * WDFQUEUE (FxIoQueue, reduced to a NIC's upper edge). Sequential: one request presented at a time;
 * parallel: each as it arrives; manual: never presented, the driver retrieves them. Power-managed
 * queues present requests only while the device is in D0. Presenting a request runs the queue's
 * EvtIoWrite/EvtIoRead in a kernel routine at the request's IRQL, under the queue's callback lock
 * (the device's with synchronization scope 'device', its own with 'queue').
 */
export class WdfQueueObject extends WdfObject implements DeviceQueue {
  readonly type = 'WDFQUEUE' as const;
  readonly kernel: Kernel;
  readonly deviceObject: WdfDeviceObject;
  readonly config: WdfIoQueueConfig;
  readonly dispatch: WdfIoQueueDispatchType;
  readonly powerManaged: boolean;
  readonly callbackLock: CallbackLock | null;
  /** Requests waiting in the queue, oldest first (from `head`). */
  private pending: WdfRequestObject[] = [];
  private head = 0;
  /** Requests presented to (or retrieved by) the driver and not yet completed, forwarded or requeued. */
  readonly owned = new Set<WdfRequestObject>();
  /** The device is in D0 (or the queue is not power-managed). */
  private powered: boolean;
  /** WdfIoQueueStop / WdfIoQueueStart. */
  private stoppedByDriver = false;
  private readonly onRequestDone: (req: WdfRequestObject, status: NTSTATUS, information: number) => void;

  constructor(
    kernel: Kernel,
    device: WdfDeviceObject,
    config: WdfIoQueueConfig,
    attributes: WdfQueueAttributes | undefined,
    onRequestDone: (req: WdfRequestObject, status: NTSTATUS, information: number) => void,
  ) {
    super();
    this.kernel = kernel;
    this.deviceObject = device;
    this.config = config;
    this.dispatch = config.dispatch;
    this.powerManaged = config.powerManaged ?? true;
    this.powered = !this.powerManaged || device.started;
    this.onRequestDone = onRequestDone;
    const scope = attributes?.synchronizationScope ?? device.synchronizationScope;
    if (scope === 'device') this.callbackLock = device.callbackLock ?? makeCallbackLock(kernel, device.executionLevel, `${device.name} callback lock`);
    else if (scope === 'queue') this.callbackLock = makeCallbackLock(kernel, attributes?.executionLevel ?? device.executionLevel, `queue callback lock`);
    else this.callbackLock = null;
  }

  get wdfHandle(): WDFQUEUE {
    return this.handle as WDFQUEUE;
  }

  get queuedCount(): number {
    return this.pending.length - this.head;
  }

  /** Presents requests (power state and driver start/stop permitting). */
  get presenting(): boolean {
    return this.powered && !this.stoppedByDriver;
  }

  /** A request arrives (from the host or WdfRequestForwardToIoQueue). */
  enqueue(req: WdfRequestObject): void {
    req.queue = this;
    req.state = 'queued';
    this.pending.push(req);
    this.pump();
  }

  /** WdfIoQueueRetrieveNextRequest's work: the oldest queued request, now owned by the driver, or null. */
  retrieveNext(): WdfRequestObject | null {
    if (!this.presenting) return null;
    const req = this.take();
    if (req) this.owned.add(req);
    return req;
  }

  get driverOwned(): number {
    return this.owned.size;
  }

  /** The driver completed or forwarded a request it owned from this queue. */
  released(req: WdfRequestObject): void {
    this.owned.delete(req);
    req.stopAcknowledged = false;
    this.pump();
  }

  /** WdfRequestStopAcknowledge with requeue: back to the head of the queue. */
  requeue(req: WdfRequestObject): void {
    this.owned.delete(req);
    req.stopAcknowledged = false;
    req.state = 'queued';
    if (this.head > 0) this.pending[--this.head] = req;
    else this.pending.unshift(req);
    this.pump();
  }

  /**
   * The device leaves D0: stop presenting, call EvtIoStop (suspend) for each request the driver
   * owns, and wait until each is completed, forwarded, requeued or acknowledged, as KMDF does
   * before powering down. Runs in the PASSIVE_LEVEL power-down routine; false on timeout.
   */
  async powerDownAndDrain(timeoutMs: number): Promise<boolean> {
    this.powerDown();
    if (!this.powerManaged || this.owned.size === 0) return true;
    const stop = this.config.evtIoStop;
    if (stop) {
      const queue = this.handle as WDFQUEUE;
      for (const req of [...this.owned]) {
        if (!this.owned.has(req)) continue;
        const request = req.handle as WDFREQUEST;
        await this.callLocked(this.callbackLock, stop.name || 'EvtIoStop', () => stop(queue, request, 'suspend'));
      }
    }
    const start = performance.now();
    while (!this.drained()) {
      if (this.kernel.clock.overLimit('wdf queue drain', performance.now() - start, timeoutMs) !== null) return false;
      await this.kernel.delayExecution(1);
    }
    return true;
  }

  private drained(): boolean {
    for (const r of this.owned) if (!r.stopAcknowledged) return false;
    return true;
  }

  powerUp(): void {
    this.powered = true;
    const resume = this.config.evtIoResume;
    const kept = [...this.owned].filter((r) => r.stopAcknowledged);
    for (const r of kept) r.stopAcknowledged = false;
    if (resume && kept.length > 0) {
      // EvtIoResume for the requests the driver kept across the power-down, in a routine of their own.
      const queue = this.handle as WDFQUEUE;
      this.kernel
        .runAtPassive('EvtIoResume', async () => {
          for (const r of kept) if (this.owned.has(r)) await this.callLocked(this.callbackLock, resume.name || 'EvtIoResume', () => resume(queue, r.handle as WDFREQUEST));
        })
        .catch(() => {
          // Already a bug check, reported by the kernel.
        });
    }
    this.pump();
  }

  powerDown(): void {
    if (this.powerManaged) this.powered = false;
  }

  start(): void {
    this.stoppedByDriver = false;
    this.pump();
  }

  stop(): void {
    this.stoppedByDriver = true;
  }

  /** Complete every queued request with `status` (WdfIoQueuePurge, device removal). */
  purge(status: NTSTATUS): void {
    for (let req = this.take(); req; req = this.take()) this.onRequestDone(req, status, 0);
  }

  private take(): WdfRequestObject | null {
    if (this.head >= this.pending.length) return null;
    const req = this.pending[this.head]!;
    this.pending[this.head] = undefined as never;
    this.head++;
    if (this.head === this.pending.length) {
      this.pending.length = 0;
      this.head = 0;
    } else if (this.head > 64 && this.head * 2 > this.pending.length) {
      this.pending = this.pending.slice(this.head);
      this.head = 0;
    }
    req.state = 'driver';
    return req;
  }

  /** Present what may be presented now. */
  private pump(): void {
    if (this.dispatch === 'manual' || !this.presenting || this.deleted) return;
    while (this.queuedCount > 0 && (this.dispatch === 'parallel' || this.driverOwned === 0)) {
      const req = this.take()!;
      this.owned.add(req);
      this.present(req);
    }
  }

  /** Run the queue's callback for `req` in a new kernel routine at the request's IRQL. */
  private present(req: WdfRequestObject): void {
    const k = this.kernel;
    const irpName = req.requestType === 'write' ? 'IRP_MJ_WRITE' : 'IRP_MJ_READ';
    k.runOnChosenProcessor(req.irql, irpName, () => this.invoke(req)).catch(() => {
      // Already a bug check (the routine turned the failure into one), reported by the kernel.
    });
  }

  private async invoke(req: WdfRequestObject): Promise<void> {
    const cfg = this.config;
    const typed = req.requestType === 'write' ? cfg.evtIoWrite : cfg.evtIoRead;
    const queue = this.handle as WDFQUEUE;
    const request = req.handle as WDFREQUEST;
    let call: (() => unknown) | null = null;
    let name = '';
    if (typed) {
      const length = req.buffer.length;
      call = () => typed(queue, request, length);
      name = typed.name || (req.requestType === 'write' ? 'EvtIoWrite' : 'EvtIoRead');
    } else if (cfg.evtIoDefault) {
      const fallback = cfg.evtIoDefault;
      call = () => fallback(queue, request);
      name = fallback.name || 'EvtIoDefault';
    }
    if (!call) {
      // No callback for this request type: the framework fails it, as KMDF does.
      this.onRequestDone(req, NtStatus.STATUS_INVALID_DEVICE_REQUEST, 0);
      return;
    }
    const lock = this.callbackLock;
    if (lock?.passive && req.irql > Irql.PASSIVE_LEVEL) {
      // A passive-level queue is never called at DISPATCH_LEVEL: KMDF defers to a worker thread.
      // Not awaited: this routine holds its processor at DISPATCH_LEVEL, the worker needs one.
      this.kernel
        .runAtPassive(name, () => this.callLocked(lock, name, call))
        .catch(() => {
          // Already a bug check, reported by the kernel.
        });
      return;
    }
    await this.callLocked(lock, name, call);
  }

  async callLocked(lock: CallbackLock | null, name: string, call: () => unknown): Promise<void> {
    const k = this.kernel;
    if (!lock) {
      await k.callRoutine(name, call);
      return;
    }
    const old = await lock.acquire();
    try {
      await k.callRoutine(name, call);
    } finally {
      if (!k.stopped) await lock.release(old);
    }
  }

  protected override onDelete(): void {
    this.stoppedByDriver = true;
  }
}
