import { BugCheckCode, Irql, type Kernel } from '../kernel/index.ts';
import { type WdfFrameworkOptions } from './api-core.ts';
import { WdfInterruptApi } from './api-interrupt.ts';
import { WdfRequestFatalError, WdfViolation } from './bugcodes.ts';
import { WdfDeviceObject } from './device.ts';
import { WdfError, WdfStatusError } from './errors.ts';
import { type WDFDEVICE, type WDFQUEUE, type WDFREQUEST } from './handles.ts';
import { WdfQueueObject } from './io-queue.ts';
import { type NTSTATUS, NtStatus, ntSuccess } from './ntstatus.ts';
import { RequestPool, type WdfRequestObject } from './request.ts';
import { type WdfIoQueueConfig, type WdfQueueAttributes, type WdfRequestCompletion, type WdfRequestDone, type WdfRequestParameters, type WdfRequestType } from './types.ts';

/** WDFQUEUE and WDFREQUEST methods, and the I/O manager's side (submitWrite, submitRead). */
export class WdfIoApi extends WdfInterruptApi {
  private readonly requests = new RequestPool();
  /** Requests the host is waiting for (queued or owned by the driver). */
  private readonly liveRequests = new Set<WdfRequestObject>();
  private readonly completeRequestFn = (req: WdfRequestObject, status: NTSTATUS, information: number): void => this.finishRequest(req, status, information);

  constructor(kernel: Kernel, opts: WdfFrameworkOptions = {}) {
    super(kernel, opts);
    // A crashed driver completes nothing: end the host's waits with the bug check instead of hanging.
    kernel.once('bugcheck', () => {
      const err = kernel.stopped;
      for (const req of this.liveRequests) req.abandon(err);
      this.liveRequests.clear();
    });
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
    if (req.buffer.length < minimumRequiredLength)
      throw new WdfStatusError(api, NtStatus.STATUS_BUFFER_TOO_SMALL, `the buffer has ${req.buffer.length} bytes, ${minimumRequiredLength} required`);
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
    if (req.buffer.length < minimumRequiredLength)
      throw new WdfStatusError(api, NtStatus.STATUS_BUFFER_TOO_SMALL, `the buffer has ${req.buffer.length} bytes, ${minimumRequiredLength} required`);
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
    src.released(req);
    dest.enqueue(req);
  }

  /**
   * WdfRequestStopAcknowledge (<= DISPATCH_LEVEL), from EvtIoStop: `requeue` puts the request back
   * at the head of its queue; otherwise the driver keeps it across the power-down (EvtIoResume later).
   */
  wdfRequestStopAcknowledge(request: WDFREQUEST, requeue: boolean): void {
    const req = this.ownedRequest(request, 'WdfRequestStopAcknowledge');
    if (requeue) req.queue!.requeue(req);
    else req.stopAcknowledged = true;
  }

  private ownedRequest(request: WDFREQUEST, api: string): WdfRequestObject {
    const req = this.handles.get<WdfRequestObject>(request, 'WDFREQUEST', api);
    this.kernel.requireIrql(api, Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL);
    if (req.state !== 'driver') {
      this.kernel.bugCheck(BugCheckCode.WDF_VIOLATION, WdfViolation.WDF_REQUEST_FATAL_ERROR, WdfRequestFatalError.REQUEST_ALREADY_SENT, req.handle, 0, {
        api,
        message: `${api} on WDFREQUEST 0x${req.handle.toString(16)}, which the driver does not own: it sits in a queue (forwarded)`,
      });
    }
    return req;
  }

  private completeOwned(req: WdfRequestObject, status: NTSTATUS, information: number, api: string): void {
    if (req.requestType === 'read' && ntSuccess(status) && information > req.buffer.length) {
      this.kernel.bugCheck(BugCheckCode.WDF_VIOLATION, WdfViolation.WDF_REQUEST_FATAL_ERROR, WdfRequestFatalError.INFORMATION_LENGTH_MISMATCH, req.handle, 0, {
        api,
        message: `${api}: read WDFREQUEST 0x${req.handle.toString(16)} completed with Information ${information}, larger than its ${req.buffer.length}-byte buffer`,
      });
    }
    const queue = req.queue;
    this.finishRequest(req, status, information);
    queue?.released(req);
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
