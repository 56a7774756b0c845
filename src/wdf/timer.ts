import { Dpc, KernelTimer, type Kernel } from '../kernel/index.ts';
import { WdfObject, type WDFTIMER } from './handles.ts';
import type { CallbackLock } from './locks.ts';
import type { WdfTimerConfig } from './types.ts';

/**
 * WDFTIMER (FxTimer over a KTIMER and a KDPC): when due, its DPC is queued; EvtTimerFunc runs at
 * DISPATCH_LEVEL, under the parent's callback spin lock with automatic serialization. Periodic
 * timers are queued again every `period` ms. A bug check cancels it (the kernel timer does).
 */
export class WdfTimerObject extends WdfObject {
  readonly type = 'WDFTIMER' as const;
  readonly kernel: Kernel;
  readonly config: WdfTimerConfig;
  readonly dpc: Dpc;
  private readonly lock: CallbackLock | null;
  private readonly timer: KernelTimer;
  /** Times EvtTimerFunc has run. */
  fired = 0;

  constructor(kernel: Kernel, config: WdfTimerConfig, lock: CallbackLock | null) {
    super();
    this.kernel = kernel;
    this.config = config;
    this.lock = lock;
    this.dpc = new Dpc(() => this.run(), this, config.evtTimerFunc.name || 'EvtTimerFunc');
    this.timer = new KernelTimer(kernel, this.dpc.name);
  }

  /** Waiting for its due time, or its DPC queued. */
  get pending(): boolean {
    return this.timer.isSet || this.dpc.queued;
  }

  /** KeSetTimerEx: returns true if it was already set (it is now rescheduled). */
  start(dueMs: number): boolean {
    return this.timer.set(dueMs, this.config.period ?? 0, this.dpc);
  }

  /** KeCancelTimer (and the queued DPC): returns true if it was pending. */
  cancel(): boolean {
    const was = this.pending;
    this.timer.cancel();
    this.kernel.removeQueueDpc(this.dpc);
    return was;
  }

  /** Wait until EvtTimerFunc is not running (WdfTimerStop with Wait, at PASSIVE_LEVEL). */
  waitIdle(): Promise<void> {
    return this.kernel.waitUntil(() => this.dpc.running === 0, `waiting for ${this.dpc.name} to return`);
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
      if (!this.kernel.stopped) await lock.release(old);
    }
  }

  protected override onDelete(): void {
    this.cancel();
  }
}
