process.env.DIRQL_LOG ??= 'silent';

import type { KernelOptions, RegisterBackend } from '../../../src/kernel/index.ts';
import { FakeLines } from '../../support/fake-lines.ts';
import { kernelOnFakeLines, type KernelOnFakeLines } from '../../support/kernel-rig.ts';

export { FakeLines };

export const ICR = 0xc0;
export const ICS = 0xc8;
export const IMS = 0xd0;
export const IMC = 0xd8;

/**
 * A register file with e1000-like interrupt registers: ICR read returns and clears the causes,
 * ICS sets causes, IMS/IMC mask them; the line is asserted while (causes & mask) != 0.
 */
export class FakeDevice implements RegisterBackend {
  readonly regs = new Map<number, number>();
  readonly log: string[] = [];
  readonly readHooks = new Map<number, () => void>();
  causes = 0;
  mask = 0xffffffff;
  private readonly lines: FakeLines;
  private readonly line: number;
  /** 'microtask': reads complete at once; 'macrotask': on a later event-loop turn, like a socket. */
  latency: 'microtask' | 'macrotask' = 'microtask';

  constructor(lines: FakeLines, line = 11) {
    this.lines = lines;
    this.line = line;
  }

  read32(offset: number): Promise<number> {
    this.readHooks.get(offset)?.();
    let value: number;
    if (offset === ICR) {
      value = this.causes;
      this.causes = 0;
      this.update();
    } else {
      value = this.regs.get(offset) ?? 0;
    }
    this.log.push(`R ${offset.toString(16)}=${value.toString(16)}`);
    if (this.latency === 'microtask') return Promise.resolve(value);
    return new Promise((r) => setImmediate(() => r(value)));
  }

  write32(offset: number, value: number): void {
    this.log.push(`W ${offset.toString(16)}=${value.toString(16)}`);
    if (offset === ICS) this.causes |= value;
    else if (offset === IMS) this.mask |= value;
    else if (offset === IMC) this.mask &= ~value;
    else if (offset === ICR) this.causes &= ~value;
    else this.regs.set(offset, value >>> 0);
    this.update();
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  /** The device raises interrupt causes on its own (a frame arrived). */
  raise(cause: number): void {
    this.causes |= cause;
    this.update();
  }

  /** Run `fn` once, the next time `offset` is read (device activity timed against the driver). */
  onceOnRead(offset: number, fn: () => void): void {
    this.readHooks.set(offset, () => {
      this.readHooks.delete(offset);
      fn();
    });
  }

  private update(): void {
    this.lines.set(this.line, ((this.causes & this.mask) >>> 0) !== 0);
  }
}

export interface Rig extends KernelOnFakeLines {
  device: FakeDevice;
}

/** A kernel on fake lines with a temp bug check directory. */
export function makeRig(opts: Omit<KernelOptions, 'lines' | 'bugCheckDir'> = {}): Rig {
  const base = kernelOnFakeLines('dirql-kernel-', opts);
  return { ...base, device: new FakeDevice(base.lines) };
}
