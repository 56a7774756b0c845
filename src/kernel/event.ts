import { kernelInternals, type KernelCore } from './core.ts';
import { requireIrqlIfInRoutine } from './irql-control.ts';
import { Irql } from './irql.ts';
import type { Kernel } from './kernel.ts';
import { wait } from './waiting.ts';

/** KEVENT types: a notification event stays signalled; a synchronization event releases one waiter and resets. */
export type EventType = 'notification' | 'synchronization';

/** KEVENT (NdisInitializeEvent/NdisSetEvent/NdisWaitEvent are built on it). */
export class KernelEvent {
  readonly type: EventType;
  readonly name: string;
  private state: boolean;
  private waiters: (() => void)[] = [];
  private readonly kernel: KernelCore;

  /** KeInitializeEvent. */
  constructor(kernel: Kernel, type: EventType = 'notification', initialState = false, name = 'Event') {
    this.kernel = kernelInternals(kernel);
    this.type = type;
    this.state = initialState;
    this.name = name;
  }

  get signaled(): boolean {
    return this.state;
  }

  /** KeSetEvent (IRQL <= DISPATCH_LEVEL): returns the previous state. */
  set(): boolean {
    this.checkIrql('KeSetEvent', Irql.DISPATCH_LEVEL);
    const previous = this.state;
    this.state = true;
    if (this.type === 'notification') {
      const all = this.waiters;
      this.waiters = [];
      for (const w of all) w();
    } else {
      const one = this.waiters.shift();
      if (one) {
        this.state = false;
        one();
      }
    }
    return previous;
  }

  /** KeResetEvent: returns the previous state. KeClearEvent is the same without the result. */
  reset(): boolean {
    this.checkIrql('KeResetEvent', Irql.DISPATCH_LEVEL);
    const previous = this.state;
    this.state = false;
    return previous;
  }

  /**
   * KeWaitForSingleObject: true when signalled, false on timeout. At most APC_LEVEL, or
   * DISPATCH_LEVEL with a zero timeout (a poll). The waiting thread gives up its processor.
   */
  async wait(timeoutMs?: number): Promise<boolean> {
    if (timeoutMs === 0) this.checkIrql('KeWaitForSingleObject', Irql.DISPATCH_LEVEL);
    if (this.state) {
      if (this.type === 'synchronization') this.state = false;
      return true;
    }
    if (timeoutMs === 0) return false;
    let release!: () => void;
    let timer: NodeJS.Timeout | undefined;
    const signalled = new Promise<boolean>((resolve) => {
      release = () => {
        if (timer) clearTimeout(timer);
        resolve(true);
      };
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== release);
          resolve(false);
        }, timeoutMs);
      }
    });
    this.waiters.push(release);
    return wait(this.kernel, signalled, this.name);
  }

  private checkIrql(api: string, max: number): void {
    requireIrqlIfInRoutine(this.kernel, api, Irql.PASSIVE_LEVEL, max);
  }
}
