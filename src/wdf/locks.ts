import { BugCheckCode, Irql, SpinLock, type Activation, type Kernel } from '../kernel/index.ts';
import { WdfViolation } from './bugcodes.ts';
import { WdfObject } from './handles.ts';

/**
 * A framework callback lock (the device's or a queue's synchronization lock, used for automatic
 * serialization): a spin lock at DISPATCH_LEVEL, or a wait lock at PASSIVE_LEVEL.
 */
export interface CallbackLock {
  readonly name: string;
  readonly passive: boolean;
  /** Returns what release() needs (the old IRQL). */
  acquire(): Promise<number>;
  /** Lowering the IRQL (a spin lock's release) is a preemption point: await it. */
  release(old: number): Promise<void> | undefined;
}

/** A spin lock as a callback lock (WdfExecutionLevelDispatch). */
export class SpinCallbackLock implements CallbackLock {
  readonly passive = false;
  readonly lock: SpinLock;

  constructor(kernel: Kernel, name: string) {
    this.lock = new SpinLock(kernel, name);
  }

  get name(): string {
    return this.lock.name;
  }

  acquire(): Promise<number> {
    return this.lock.acquire();
  }

  release(old: number): Promise<void> | undefined {
    return this.lock.release(old);
  }
}

/**
 * A KMDF wait lock (an event-based mutex): acquired at PASSIVE_LEVEL, the waiter gives up its
 * processor (kernel.wait) instead of spinning; the holder stays at PASSIVE_LEVEL.
 */
export class WaitLock implements CallbackLock {
  readonly passive = true;
  readonly name: string;
  owner: Activation | null = null;
  private readonly waiters: (() => void)[] = [];
  private readonly kernel: Kernel;

  constructor(kernel: Kernel, name: string) {
    this.kernel = kernel;
    this.name = name;
  }

  /** Wait (PASSIVE_LEVEL) until the lock is free, then own it. Acquiring it twice is WDF_RECURSIVE_LOCK. */
  async acquire(api = 'WdfWaitLockAcquire'): Promise<number> {
    const k = this.kernel;
    const act = k.activationFor(api);
    this.checkRecursion(act, api);
    while (this.owner !== null) {
      await k.wait(new Promise<void>((resolve) => this.waiters.push(resolve)), this.name);
      this.checkRecursion(act, api);
    }
    this.owner = act;
    return Irql.PASSIVE_LEVEL;
  }

  /** Acquire with a zero timeout: true if it was free. */
  tryAcquire(api = 'WdfWaitLockAcquire'): boolean {
    const act = this.kernel.activationFor(api);
    this.checkRecursion(act, api);
    if (this.owner !== null) return false;
    this.owner = act;
    return true;
  }

  /** No IRQL change, so no preemption point: always undefined. */
  release(_old?: number, api = 'WdfWaitLockRelease'): undefined {
    const k = this.kernel;
    const act = k.activationFor(api);
    if (this.owner !== act) {
      k.bugCheck(BugCheckCode.WDF_VIOLATION, WdfViolation.WDF_INVALID_LOCK_OPERATION, 0, 0, 0, {
        api,
        message: this.owner ? `${act.routine} released ${this.name}, which is held by ${this.owner.routine}` : `${act.routine} released ${this.name}, which is not held`,
      });
    }
    this.owner = null;
    this.waiters.shift()?.();
    return undefined;
  }

  private checkRecursion(act: Activation, api: string): void {
    if (this.owner === act) {
      this.kernel.bugCheck(BugCheckCode.WDF_VIOLATION, WdfViolation.WDF_RECURSIVE_LOCK, 0, 0, 0, {
        api,
        message: `${act.routine} acquired ${this.name} again while holding it (this deadlocks)`,
      });
    }
  }
}

/** WDFSPINLOCK. */
export class WdfSpinLockObject extends WdfObject {
  readonly type = 'WDFSPINLOCK' as const;
  readonly lock: SpinLock;
  /** The IRQL to restore on WdfSpinLockRelease (KMDF keeps it in the object too). */
  oldIrql = 0;

  constructor(kernel: Kernel, name: string) {
    super();
    this.lock = new SpinLock(kernel, name);
  }
}

/** WDFWAITLOCK. */
export class WdfWaitLockObject extends WdfObject {
  readonly type = 'WDFWAITLOCK' as const;
  readonly lock: WaitLock;

  constructor(kernel: Kernel, name: string) {
    super();
    this.lock = new WaitLock(kernel, name);
  }
}

/** The callback lock a scope/level pair calls for. */
export function makeCallbackLock(kernel: Kernel, level: 'dispatch' | 'passive', name: string): CallbackLock {
  return level === 'passive' ? new WaitLock(kernel, name) : new SpinCallbackLock(kernel, name);
}
