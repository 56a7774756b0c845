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
  /** Requests presented to the driver and not yet completed or forwarded. */
  driverOwned = 0;
  /** The device is in D0 (or the queue is not power-managed). */
  private powered: boolean;
  /** WdfIoQueueStop / WdfIoQueueStart. */
  private stoppedByDriver = false;
  private readonly onRequestDone: (req: WdfRequestObject, status: NTSTATUS, information: number) => void;

  constructor(kernel: Kernel, device: WdfDeviceObject, config: WdfIoQueueConfig, attributes: WdfQueueAttributes | undefined,
    onRequestDone: (req: WdfRequestObject, status: NTSTATUS, information: number) => void) {
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
    if (req) this.driverOwned++;
    return req;
  }

  /** The driver completed or forwarded a request it owned from this queue. */
  released(): void {
    this.driverOwned--;
    this.pump();
  }

  powerUp(): void {
    this.powered = true;
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
      this.driverOwned++;
      this.present(req);
    }
  }

  /** Run the queue's callback for `req` in a new kernel routine at the request's IRQL. */
  private present(req: WdfRequestObject): void {
    const k = this.kernel;
    const irpName = req.requestType === 'write' ? 'IRP_MJ_WRITE' : 'IRP_MJ_READ';
    const idle = k.processors.filter((P) => P.idle);
    const P = k.scheduler.choose(idle.length ? idle : k.processors);
    k.runOnProcessor(P.index, req.irql, irpName, () => this.invoke(req)).catch(() => {
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
      this.kernel.runAtPassive(name, () => this.callLocked(lock, name, call)).catch(() => {
        // Already a bug check, reported by the kernel.
      });
      return;
    }
    await this.callLocked(lock, name, call);
  }

  private async callLocked(lock: CallbackLock | null, name: string, call: () => unknown): Promise<void> {
    const k = this.kernel;
    if (!lock) {
      await k.callRoutine(name, call);
      return;
    }
    const old = await lock.acquire();
    try {
      await k.callRoutine(name, call);
    } finally {
      if (!k.stopped) lock.release(old);
    }
  }

  protected override onDelete(): void {
    this.stoppedByDriver = true;
  }
}
