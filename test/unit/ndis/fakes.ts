process.env.DIRQL_LOG ??= 'silent';

import type { KernelOptions, RegisterBackend } from '../../../src/kernel/index.ts';
import { FakeLines } from '../../support/fake-lines.ts';
import { kernelOnFakeLines, type KernelOnFakeLines } from '../../support/kernel-rig.ts';

export { FakeLines };

export const LINE = 11;
export const CTRL = 0x0;
export const ICR = 0xc0;
export const ICS = 0xc8;
export const IMS = 0xd0;
export const IMC = 0xd8;
export const RXT0 = 0x80;
export const LSC = 0x4;

/**
 * A register file with e1000-like interrupt registers: ICR read returns and clears the causes, ICS
 * sets causes, IMS/IMC set and clear the mask; the line is asserted while (causes & mask) != 0.
 */
export class FakeNic implements RegisterBackend {
  readonly regs = new Map<number, number>();
  readonly log: string[] = [];
  causes = 0;
  mask = 0;
  /** 'microtask': reads complete at once; 'macrotask': on a later event-loop turn, like a socket. */
  latency: 'microtask' | 'macrotask' = 'microtask';
  private readonly readHooks = new Map<number, () => void>();

  constructor(private readonly lines: FakeLines, private readonly line = LINE) {}

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
    if (offset === ICS) this.causes |= value;
    else if (offset === IMS) this.mask = (this.mask | value) >>> 0;
    else if (offset === IMC) this.mask = (this.mask & ~value) >>> 0;
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

  /** Run `fn` the next time `offset` is read (device activity timed against the driver). */
  onceOnRead(offset: number, fn: () => void): void {
    this.readHooks.set(offset, fn);
  }

  private update(): void {
    this.lines.set(this.line, ((this.causes & this.mask) >>> 0) !== 0);
  }
}

export interface KernelRig extends KernelOnFakeLines {
  nic: FakeNic;
}

/** A kernel on fake lines with a temporary bug check directory. */
export function makeKernelRig(opts: Omit<KernelOptions, 'lines' | 'bugCheckDir'> = {}): KernelRig {
  const base = kernelOnFakeLines('dirql-ndis-', opts);
  return { ...base, nic: new FakeNic(base.lines) };
}
