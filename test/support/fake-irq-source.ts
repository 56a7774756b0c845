import { EventEmitter } from 'node:events';

/**
 * What IrqLines listens to, without QEMU: `raise` reports a level as the qtest client's `irq`
 * event would; fences are counted; `inFlight` is the number of unanswered commands (undefined: the
 * source cannot tell).
 */
export class FakeIrqSource extends EventEmitter {
  levels = new Map<number, boolean>();
  fences = 0;
  inFlight: number | undefined = 0;

  raise(line: number, up: boolean): void {
    this.levels.set(line, up);
    this.emit('irq', line, up);
  }

  lineLevel(line: number): boolean {
    return this.levels.get(line) ?? false;
  }

  async fence(): Promise<void> {
    this.fences++;
  }
}
