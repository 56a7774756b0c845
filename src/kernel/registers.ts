import type { Activation } from './activation.ts';
import { kernelInternals, type KernelCore } from './core.ts';
import { KernelError } from './errors.ts';
import type { Kernel } from './kernel.ts';
import type { Lockset, TrackedDevice } from './lockset.ts';
import { semanticsLookup, type RegisterSemantics } from './register-map.ts';
import type { TraceFormatter } from './trace.ts';

/**
 * Register window of a device (src/platform implements it over qtest): 32-bit, and 8/16-bit where
 * the backend has them. Declared here too, structurally identical to the platform's, so the kernel
 * does not depend on the platform.
 */
export interface RegisterBackend {
  read32(offset: number): Promise<number>;
  /** Posted: sent at once, not awaited (PCI posted write). */
  write32(offset: number, value: number): void;
  /** Wait for posted writes (a qtest fence). */
  flush(): Promise<void>;
  read8?(offset: number): Promise<number>;
  read16?(offset: number): Promise<number>;
  write8?(offset: number, value: number): void;
  write16?(offset: number, value: number): void;
}

export interface DeviceRegistersOptions {
  /** Shown in the trace, e.g. "e1000". */
  name?: string;
  /**
   * Register names for the trace ("ICR" for 0xC0). A RegisterMap (defineRegisterMap,
   * withRegisterSemantics) also tells the lockset verifier each register's semantics.
   */
  registerName?: (offset: number) => string | undefined;
  /** Record each access in the kernel's TraceBuffer. Default true. */
  trace?: boolean;
}

/**
 * The driver's view of device registers (READ_REGISTER_ULONG / WRITE_REGISTER_ULONG). Every access
 * is a preemption point: a pending interrupt above the caller's IRQL is taken on the caller's
 * processor before the access and again once it completes, and queued DPCs run if the IRQL is
 * below DISPATCH_LEVEL, before the caller continues. Writes stay posted underneath.
 */
export class DeviceRegisters implements TraceFormatter, TrackedDevice {
  readonly backend: RegisterBackend;
  readonly name: string;
  private readonly kernel: KernelCore;
  private readonly registerName: ((offset: number) => string | undefined) | undefined;
  private readonly tracing: boolean;
  private readonly lockset: Lockset | null;
  private readonly semantics: ((offset: number) => RegisterSemantics) | undefined;

  constructor(kernel: Kernel, backend: RegisterBackend, opts: DeviceRegistersOptions = {}) {
    this.kernel = kernelInternals(kernel);
    this.backend = backend;
    this.name = opts.name ?? 'device';
    this.registerName = opts.registerName;
    this.tracing = opts.trace ?? true;
    this.lockset = this.kernel.lockset;
    this.semantics = semanticsLookup(opts.registerName);
  }

  /**
   * Declare `fields` of `obj` shared driver state named `structure`, for the lockset verifier of
   * this device's kernel (Verifier.shared): the way in for driver code that holds its registers
   * but not the kernel. Returns `obj`, left as is when the verifier is off.
   */
  shared<T extends object>(obj: T, structure: string, opts: { fields: readonly string[] }): T {
    return this.lockset ? this.lockset.track(obj, structure, opts.fields) : obj;
  }

  /** TrackedDevice: the register's name from the map given, if any. */
  registerNameOf(offset: number): string | undefined {
    return this.registerName?.(offset);
  }

  /** TrackedDevice: plain unless the register map says otherwise. */
  semanticsOf(offset: number): RegisterSemantics {
    return this.semantics?.(offset) ?? 'plain';
  }

  /**
   * READ_REGISTER_ULONG. Not async, like write32: on the usual path (nothing to preempt for) a read
   * makes one promise beside the backend's (the .then's), not two (the async function's and, under
   * the kernel's async hooks, its await's), and each costs those hooks.
   */
  read32(offset: number): Promise<number> {
    let act: Activation;
    let before: Promise<void> | undefined;
    try {
      act = this.kernel.activationFor('READ_REGISTER_ULONG');
      before = this.kernel.preempt(act, false);
    } catch (err) {
      return Promise.reject(err);
    }
    if (before) return before.then(() => this.readNow(act, offset));
    return this.readNow(act, offset);
  }

  private readNow(act: Activation, offset: number): Promise<number> {
    let read: Promise<number>;
    try {
      if (this.lockset !== null) this.lockset.registerAccess(this, offset, false, act);
      act.state = 'register read';
      read = this.backend.read32(offset);
    } catch (err) {
      act.state = undefined;
      return Promise.reject(err);
    }
    return read.then(
      (value) => this.afterRead(act, offset, value),
      (err: unknown) => {
        act.state = undefined;
        throw err;
      },
    );
  }

  private afterRead(act: Activation, offset: number, value: number): number | Promise<number> {
    act.state = undefined;
    const k = this.kernel;
    if (this.tracing) k.trace.recordLazy('mmio-rd', act.processor.index, this, offset, value, act.routine);
    if (k.observer) k.observer.registerAccessed(act, this.name, false, offset, value, this.registerName?.(offset));
    const after = k.preempt(act, true);
    return after ? after.then(() => value) : value;
  }

  /**
   * WRITE_REGISTER_ULONG (posted). Undefined when nothing was pending before or after it (the usual
   * case), so a hot path can skip the await: `const p = regs.write32(o, v); if (p) await p;`.
   */
  write32(offset: number, value: number): Promise<void> | undefined {
    try {
      const act = this.kernel.activationFor('WRITE_REGISTER_ULONG');
      const before = this.kernel.preempt(act, false);
      if (before) return before.then(() => this.writeNow(act, offset, value));
      return this.writeNow(act, offset, value);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  // A plain function rather than an async one: on the usual path (nothing to preempt for) a
  // posted write makes no promise at all.

  private writeNow(act: Activation, offset: number, value: number): Promise<void> | undefined {
    if (this.lockset !== null) this.lockset.registerAccess(this, offset, true, act);
    this.backend.write32(offset, value);
    const k = this.kernel;
    if (this.tracing) k.trace.recordLazy('mmio-wr', act.processor.index, this, offset, value, act.routine);
    if (k.observer) k.observer.registerAccessed(act, this.name, true, offset, value, this.registerName?.(offset));
    return k.preempt(act, true);
  }

  /** READ_REGISTER_UCHAR (a preemption point like read32). */
  read8(offset: number): Promise<number> {
    return this.readNarrow('READ_REGISTER_UCHAR', offset, this.backend.read8);
  }

  /** READ_REGISTER_USHORT. */
  read16(offset: number): Promise<number> {
    return this.readNarrow('READ_REGISTER_USHORT', offset, this.backend.read16);
  }

  /** WRITE_REGISTER_UCHAR (posted). */
  async write8(offset: number, value: number): Promise<void> {
    await this.writeNarrow('WRITE_REGISTER_UCHAR', offset, value, this.backend.write8);
  }

  /** WRITE_REGISTER_USHORT (posted). */
  async write16(offset: number, value: number): Promise<void> {
    await this.writeNarrow('WRITE_REGISTER_USHORT', offset, value, this.backend.write16);
  }

  // The 8/16-bit accesses go through their own path, so read32/write32 keep their fast one.
  private async readNarrow(api: string, offset: number, read: ((offset: number) => Promise<number>) | undefined): Promise<number> {
    if (!read) throw new KernelError(`${api}: the ${this.name} registers have no ${api.endsWith('UCHAR') ? '8' : '16'}-bit access`, { api, device: this.name, offset });
    const k = this.kernel;
    const act = k.activationFor(api);
    const before = k.preempt(act, false);
    if (before) await before;
    act.state = 'register read';
    let value: number;
    try {
      value = await read.call(this.backend, offset);
    } finally {
      act.state = undefined;
    }
    if (this.tracing) k.trace.recordLazy('mmio-rd', act.processor.index, this, offset, value, act.routine);
    const after = k.preempt(act, true);
    if (after) await after;
    return value;
  }

  private async writeNarrow(api: string, offset: number, value: number, write: ((offset: number, value: number) => void) | undefined): Promise<void> {
    if (!write) throw new KernelError(`${api}: the ${this.name} registers have no ${api.endsWith('UCHAR') ? '8' : '16'}-bit access`, { api, device: this.name, offset });
    const k = this.kernel;
    const act = k.activationFor(api);
    const before = k.preempt(act, false);
    if (before) await before;
    write.call(this.backend, offset, value);
    if (this.tracing) k.trace.recordLazy('mmio-wr', act.processor.index, this, offset, value, act.routine);
    const after = k.preempt(act, true);
    if (after) await after;
  }

  /** Wait until posted writes reached the device (a read-back on real hardware). */
  async flush(): Promise<void> {
    const k = this.kernel;
    const act = k.activationFor('flush');
    act.state = 'flushing posted writes';
    try {
      await this.backend.flush();
    } finally {
      act.state = undefined;
    }
    const after = k.preempt(act, true);
    if (after) await after;
  }

  /** The trace text of an access recorded by read32/write32 (built only when the trace is read). */
  formatTrace(kind: string, offset: number, value: number, routine: string): string {
    return `${this.label(offset)} ${kind === 'mmio-rd' ? '->' : '<-'} 0x${(value >>> 0).toString(16)} by ${routine}`;
  }

  private label(offset: number): string {
    const n = this.registerName?.(offset);
    const hex = `0x${offset.toString(16)}`;
    return n ? `${this.name}.${n}(${hex})` : `${this.name}[${hex}]`;
  }
}
