import type { KernelCore } from './core.ts';
import { KernelContextError } from './errors.ts';
import type { InterruptController } from './interrupt-dispatch.ts';

/**
 * Whether the kernel has gone quiet (no ISR or DPC running or queued, no connected line asserted),
 * waiting until it has, and settling the interrupt lines (posted writes take effect) on the way.
 */
export class Quiescence {
  private readonly kernel: KernelCore;
  private readonly interrupts: InterruptController;

  constructor(kernel: KernelCore, interrupts: InterruptController) {
    this.kernel = kernel;
    this.interrupts = interrupts;
  }

  /** No ISR or DPC running or queued, no connected line asserted (or the driver stopped). */
  isQuiescent(): boolean {
    const k = this.kernel;
    if (k.stopped) return true;
    for (const P of k.processors) if (P.nested.length > 0 || P.dpcQueue.length > 0 || P.serviceRequested) return false;
    return !this.interrupts.anyPending();
  }

  /** Wait until quiescent, the lines settled first; checked again a turn later, for work queued meanwhile. */
  async quiesce(): Promise<void> {
    for (;;) {
      await this.settleLines().catch(() => undefined);
      if (this.isQuiescent()) {
        await new Promise<void>((r) => setImmediate(r));
        if (this.isQuiescent()) return;
      }
      await this.kernel.preemption.waitUntil(() => this.isQuiescent(), 'quiescing');
    }
  }

  /** quiesce(), and no thread call running either (host code only). */
  async idle(): Promise<void> {
    const k = this.kernel;
    const act = k.current();
    if (act && !act.ended) throw new KernelContextError('idle() waits for every routine, including the caller: call quiesce() from a routine', { routine: act.name });
    for (;;) {
      await this.quiesce();
      if (k.stopped || k.processors.every((P) => P.threads.size === 0)) return;
      await k.preemption.waitUntil(() => k.processors.every((P) => P.threads.size === 0), 'idle');
    }
  }

  /** lines.settle(), then stop if the driver crashed meanwhile. */
  async settleLines(): Promise<void> {
    const k = this.kernel;
    if (k.lineSource) await k.lineSource.settle();
    if (k.stopped) throw k.stopped;
  }

  /**
   * After a line's ISRs: the source's settleLine(line) when it has one (it may skip the wait), else
   * settle(). Undefined when there is nothing to wait for.
   */
  settleLine(line: number): Promise<void> | undefined {
    const src = this.kernel.lineSource;
    if (!src) return undefined;
    const wait = src.settleLine ? src.settleLine(line) : src.settle();
    return wait ? wait.then(this.throwIfStopped) : undefined;
  }

  private readonly throwIfStopped = (): void => {
    const stopped = this.kernel.stopped;
    if (stopped) throw stopped;
  };
}
