import { Dpc, type Kernel } from '../kernel/index.ts';
import { WdfObject, type WDFTIMER } from './handles.ts';
import type { CallbackLock } from './locks.ts';
import type { WdfTimerConfig } from './types.ts';

/**
 * WDFTIMER (FxTimer over a kernel timer): when due, its DPC is queued; EvtTimerFunc runs at
 * DISPATCH_LEVEL, under the parent's callback spin lock with automatic serialization. Periodic
 * timers are queued again every `period` ms. Host timers are unref'd: a timer never keeps Node alive.
 */
export class WdfTimerObject extends WdfObject {
  readonly type = 'WDFTIMER' as const;
  readonly kernel: Kernel;
  readonly config: WdfTimerConfig;
  readonly dpc: Dpc;
  private readonly lock: CallbackLock | null;
  private timeout: NodeJS.Timeout | null = null;
  /** Times EvtTimerFunc has run. */
  fired = 0;

  constructor(kernel: Kernel, config: WdfTimerConfig, lock: CallbackLock | null) {
    super();
    this.kernel = kernel;
    this.config = config;
    this.lock = lock;
    this.dpc = new Dpc(() => this.run(), this, config.evtTimerFunc.name || 'EvtTimerFunc');
  }

  /** Waiting for its due time, or its DPC queued. */
  get pending(): boolean {
    return this.timeout !== null || this.dpc.queued;
  }

  /** KeSetTimerEx: returns true if it was already pending (and is now rescheduled). */
  start(dueMs: number): boolean {
    const was = this.pending;
    this.cancel();
    this.arm(dueMs);
    return was;
  }

  /** KeCancelTimer (and the queued DPC): returns true if it was pending. */
  cancel(): boolean {
    const was = this.pending;
    if (this.timeout) clearTimeout(this.timeout);
    this.timeout = null;
    this.kernel.removeQueueDpc(this.dpc);
    return was;
  }

  /** Wait until EvtTimerFunc is not running (WdfTimerStop with Wait, at PASSIVE_LEVEL). */
  waitIdle(): Promise<void> {
    return this.kernel.waitUntil(() => this.dpc.running === 0, `waiting for ${this.dpc.name} to return`);
  }

  private arm(dueMs: number): void {
    this.timeout = setTimeout(() => {
      this.timeout = null;
      if (this.deleted || this.kernel.stopped) return;
      this.kernel.insertQueueDpc(this.dpc);
      const period = this.config.period ?? 0;
      if (period > 0) this.arm(period);
    }, Math.max(0, dueMs));
    this.timeout.unref();
  }

  private async run(): Promise<void> {
    this.fired++;
    const handle = this.handle as WDFTIMER;
    const lock = this.lock;
    if (!lock) {
      await this.config.evtTimerFunc(handle);
      return;
    }
    const old = await lock.acquire();
    try {
      await this.config.evtTimerFunc(handle);
    } finally {
      if (!this.kernel.stopped) lock.release(old);
    }
  }

  protected override onDelete(): void {
    this.cancel();
  }
}
