import type { RegisterBackend } from '../../src/kernel/index.ts';
import type { FakeLines } from './fake-lines.ts';

export const ICR = 0xc0;
export const ICS = 0xc8;
export const IMS = 0xd0;
export const IMC = 0xd8;

/**
 * A register file with e1000-like interrupt registers, for kernel and facade unit tests: ICR read
 * returns and clears the causes (a write clears the bits written), ICS sets causes, IMS/IMC set and
 * clear the mask (an IMS read returns it); the line is asserted while (causes & mask) != 0.
 */
export class FakeInterruptDevice implements RegisterBackend {
  readonly regs = new Map<number, number>();
  readonly log: string[] = [];
  causes = 0;
  mask: number;
  /** 'microtask': reads complete at once; 'macrotask': on a later event-loop turn, like a socket. */
  latency: 'microtask' | 'macrotask' = 'microtask';
  private readonly readHooks = new Map<number, () => void>();
  private readonly lines: FakeLines;
  private readonly line: number;

  constructor(lines: FakeLines, opts: { line: number; mask: number }) {
    this.lines = lines;
    this.line = opts.line;
    this.mask = opts.mask >>> 0;
  }

  read32(offset: number): Promise<number> {
    const hook = this.readHooks.get(offset);
    if (hook) {
      this.readHooks.delete(offset);
      hook();
    }
    let value: number;
    if (offset === ICR) {
      value = this.causes;
      this.causes = 0;
      this.update();
    } else if (offset === IMS) {
      value = this.mask;
    } else {
      value = this.regs.get(offset) ?? 0;
    }
    this.log.push(`R ${offset.toString(16)}=${value.toString(16)}`);
    if (this.latency === 'microtask') return Promise.resolve(value);
    return new Promise((r) => setImmediate(() => r(value)));
  }

  write32(offset: number, value: number): void {
    this.log.push(`W ${offset.toString(16)}=${value.toString(16)}`);
    if (offset === ICS) this.causes = (this.causes | value) >>> 0;
    else if (offset === IMS) this.mask = (this.mask | value) >>> 0;
    else if (offset === IMC) this.mask = (this.mask & ~value) >>> 0;
    else if (offset === ICR) this.causes = (this.causes & ~value) >>> 0;
    else this.regs.set(offset, value >>> 0);
    this.update();
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  /** The device raises causes on its own (a frame arrived, the link changed). */
  raise(cause: number): void {
    this.causes = (this.causes | cause) >>> 0;
    this.update();
  }

  /** Run `fn` once, the next time `offset` is read (device activity timed against the driver). */
  onceOnRead(offset: number, fn: () => void): void {
    this.readHooks.set(offset, fn);
  }

  private update(): void {
    this.lines.set(this.line, (this.causes & this.mask) >>> 0 !== 0);
  }
}
