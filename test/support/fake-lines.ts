import type { InterruptLineSource } from '../../src/kernel/index.ts';

/**
 * Interrupt lines driven by the test or by a fake device: a level per line, listeners told of
 * every change. The unit-test suites of the kernel, NDIS and the e1000 variants all use it.
 */
export class FakeLines implements InterruptLineSource {
  private readonly levels = new Map<number, boolean>();
  private readonly listeners = new Set<(line: number, asserted: boolean) => void>();
  /** settle() calls: fake writes take effect at once, so settling only counts. */
  settles = 0;

  isAsserted(line: number): boolean {
    return this.levels.get(line) ?? false;
  }

  onChange(listener: (line: number, asserted: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  set(line: number, asserted: boolean): void {
    if ((this.levels.get(line) ?? false) === asserted) return;
    this.levels.set(line, asserted);
    // A copy: a listener that unsubscribes (a kernel disposed by a bug check) does not disturb the rest.
    for (const l of [...this.listeners]) l(line, asserted);
  }

  async settle(): Promise<void> {
    this.settles++;
  }
}
