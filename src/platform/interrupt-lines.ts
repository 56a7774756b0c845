import { logger } from '../util/log.ts';

const log = logger('irq-lines');

/**
 * Level of the machine's interrupt lines, as the kernel consumes it. (The kernel declares the
 * same shape in src/kernel; TypeScript matches them structurally.)
 */
export interface InterruptLineSource {
  isAsserted(line: number): boolean;
  /** Called on every level change of a watched line; returns the unsubscribe function. */
  onChange(listener: (line: number, asserted: boolean) => void): () => void;
  /** Makes earlier posted writes take effect before the level is read again. */
  settle(): Promise<void>;
}

/** What IrqLines needs from the transport (QtestClient provides it). */
export interface IrqEventSource {
  on(event: 'irq', listener: (line: number, raised: boolean) => void): unknown;
  off(event: 'irq', listener: (line: number, raised: boolean) => void): unknown;
  lineLevel(line: number): boolean;
  fence(): Promise<void>;
  /** Commands sent and not yet answered (posted writes included); absent: unknown, always fence. */
  readonly inFlight?: number;
}

/**
 * Interrupt lines over qtest's intercepted IOAPIC inputs. Only watched lines reach listeners:
 * the PIT toggles IRQ 0 constantly and nobody wants to hear about it. QEMU reports a line only
 * when its level changes, and an `IRQ` line caused by a command arrives before that command's
 * reply, so after `settle()` (a qtest fence) the levels are current.
 */
export class IrqLines implements InterruptLineSource {
  private readonly watchedLines = new Set<number>();
  private readonly listeners = new Set<(line: number, asserted: boolean) => void>();
  private readonly onIrq = (line: number, raised: boolean): void => {
    if (!this.watchedLines.has(line)) return;
    for (const listener of [...this.listeners]) {
      try {
        listener(line, raised);
      } catch (err) {
        // Throwing back into the transport would tear its parser mid-chunk; fail loudly instead.
        log.error({ err, line, raised }, 'interrupt line listener threw');
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  };

  constructor(
    private readonly source: IrqEventSource,
    lines: Iterable<number> = [],
  ) {
    for (const l of lines) this.watch(l);
    source.on('irq', this.onIrq);
  }

  /** Lines whose changes are delivered to listeners. */
  get watched(): ReadonlySet<number> {
    return this.watchedLines;
  }

  watch(line: number): void {
    if (!Number.isInteger(line) || line < 0 || line > 255) throw new RangeError(`bad interrupt line ${line}`);
    this.watchedLines.add(line);
  }

  unwatch(line: number): void {
    this.watchedLines.delete(line);
  }

  isAsserted(line: number): boolean {
    return this.source.lineLevel(line);
  }

  onChange(listener: (line: number, asserted: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  settle(): Promise<void> {
    return this.source.fence();
  }

  /**
   * After the ISRs of `line` ran (the kernel's question "enter them again?"). A fence is needed
   * only when the reported level is high while commands are unanswered: a posted write may be
   * about to lower it. A low level needs none (if a posted write raises the line, QEMU reports it
   * and the kernel takes the interrupt then), nor does a high one with nothing in flight (QEMU
   * reports a level change before the reply to the command that caused it).
   */
  settleLine(line: number): Promise<void> | undefined {
    if (!this.source.lineLevel(line)) return undefined;
    if (this.source.inFlight === 0) return undefined;
    return this.source.fence();
  }

  /** Stops listening to the transport. */
  dispose(): void {
    this.source.off('irq', this.onIrq);
    this.listeners.clear();
  }
}
