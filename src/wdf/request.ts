import { WdfObject } from './handles.ts';
import type { WdfQueueObject } from './io-queue.ts';
import type { NTSTATUS } from './ntstatus.ts';
import type { WdfRequestCompletion, WdfRequestDone, WdfRequestType } from './types.ts';

const EMPTY = new Uint8Array(0);

/** Where a request is: in a queue, presented to (owned by) the driver, or completed. */
export type RequestState = 'queued' | 'driver' | 'completed';

/**
 * WDFREQUEST. Objects are pooled: a completed request goes back to the pool and is reused under a
 * new handle, so a stale handle of a completed request stays invalid (WDF_VIOLATION) while sends
 * and receives allocate no request objects in the steady state.
 */
export class WdfRequestObject extends WdfObject {
  readonly type = 'WDFREQUEST' as const;
  requestType: WdfRequestType = 'write';
  buffer: Uint8Array = EMPTY;
  queue: WdfQueueObject | null = null;
  information = 0;
  state: RequestState = 'completed';
  /** EvtIoStop was answered with WdfRequestStopAcknowledge (kept by the driver across a power-down). */
  stopAcknowledged = false;
  /** IRQL the I/O manager presents it at (PASSIVE_LEVEL, or DISPATCH_LEVEL for a send from DISPATCH). */
  irql = 0;
  private resolve: ((c: WdfRequestCompletion) => void) | null = null;
  private reject: ((err: unknown) => void) | null = null;
  private done: WdfRequestDone<unknown> | null = null;
  private tag: unknown = undefined;

  prepare(type: WdfRequestType, buffer: Uint8Array, irql: number): void {
    this.requestType = type;
    this.buffer = buffer;
    this.irql = irql;
    this.information = 0;
    this.state = 'queued';
    this.stopAcknowledged = false;
  }

  /** The host waits with a promise. */
  awaitWith(resolve: (c: WdfRequestCompletion) => void, reject: (err: unknown) => void): void {
    this.resolve = resolve;
    this.reject = reject;
  }

  /** The host waits with a callback (nothing allocated per request). */
  notify<T>(done: WdfRequestDone<T>, tag: T): void {
    this.done = done as WdfRequestDone<unknown>;
    this.tag = tag;
  }

  /** The driver crashed: the host's wait for this request ends with the bug check. */
  abandon(err: unknown): void {
    const { reject, done, tag, buffer } = this;
    this.resolve = this.reject = this.done = null;
    this.tag = undefined;
    reject?.(err);
    done?.(0, 0, buffer, tag, err);
  }

  /** Hand the result to the host and forget the buffer. */
  finish(status: NTSTATUS, information: number): void {
    const { resolve, done, tag, buffer } = this;
    this.state = 'completed';
    this.resolve = this.reject = this.done = null;
    this.tag = undefined;
    this.buffer = EMPTY;
    this.queue = null;
    this.context = undefined;
    this.hasContext = false;
    this.evtCleanupCallback = undefined;
    if (done) done(status, information, buffer, tag, undefined);
    else resolve?.({ status, information });
  }
}

/** Free list of request objects. */
export class RequestPool {
  private readonly free: WdfRequestObject[] = [];
  private readonly limit: number;
  created = 0;

  constructor(limit = 1024) {
    this.limit = limit;
  }

  take(): WdfRequestObject {
    const r = this.free.pop();
    if (r) return r;
    this.created++;
    return new WdfRequestObject();
  }

  give(r: WdfRequestObject): void {
    if (this.free.length < this.limit) this.free.push(r);
  }

  get available(): number {
    return this.free.length;
  }
}
