import type { Kernel } from '../kernel/index.ts';
import { WdfObject } from './handles.ts';
import type { CallbackLock } from './locks.ts';
import type { MaybePromise, WdfWorkItemConfig } from './types.ts';

/**
 * A system work item (IoQueueWorkItem): enqueue() starts `routine` on a system worker thread at
 * PASSIVE_LEVEL; enqueueing while it is still queued returns false. Once it has started it may be
 * queued again (KMDF's FxSystemWorkItem::TryToEnqueue behaves the same).
 */
export class PassiveWorkItem {
  readonly name: string;
  queued = false;
  running = 0;
  private readonly kernel: Kernel;
  private readonly routine: () => MaybePromise<void>;
  private readonly lock: CallbackLock | null;

  constructor(kernel: Kernel, name: string, routine: () => MaybePromise<void>, lock: CallbackLock | null = null) {
    this.kernel = kernel;
    this.name = name;
    this.routine = routine;
    this.lock = lock;
  }

  enqueue(): boolean {
    if (this.queued) return false;
    this.queued = true;
    this.kernel
      .runAtPassive(this.name, () => this.run())
      .catch(() => {
        // A failure here is already a bug check (runAtPassive turns it into one) and is in its report.
      });
    return true;
  }

  private async run(): Promise<void> {
    // A worker thread picks the item up later, not inside the caller's enqueue: until then it is
    // still queued (a second enqueue returns false). The thread is already known to the kernel.
    await this.kernel.wait(new Promise<void>((resolve) => setImmediate(resolve)), 'a system worker thread');
    this.queued = false;
    this.running++;
    try {
      const lock = this.lock;
      if (!lock) {
        await this.routine();
        return;
      }
      const old = await lock.acquire();
      try {
        await this.routine();
      } finally {
        if (!this.kernel.stopped) await lock.release(old);
      }
    } finally {
      this.running--;
      this.kernel.scheduler.wake();
    }
  }

  get idle(): boolean {
    return !this.queued && this.running === 0;
  }

  /** Wait until it is neither queued nor running (WdfWorkItemFlush, FlushQueuedWorkitem). PASSIVE_LEVEL. */
  flush(): Promise<void> {
    return this.kernel.waitUntil(() => this.idle, `flushing work item ${this.name}`);
  }
}

/** WDFWORKITEM. */
export class WdfWorkItemObject extends WdfObject {
  readonly type = 'WDFWORKITEM' as const;
  readonly item: PassiveWorkItem;
  readonly config: WdfWorkItemConfig;

  constructor(kernel: Kernel, config: WdfWorkItemConfig, lock: CallbackLock | null) {
    super();
    this.config = config;
    this.item = new PassiveWorkItem(kernel, config.evtWorkItem.name || 'EvtWorkItem', () => config.evtWorkItem(this.handle as never), lock);
  }
}
