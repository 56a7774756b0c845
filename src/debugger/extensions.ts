import inspector from 'node:inspector';
import type { RoutineSnapshot } from '../kernel/bugcheck.ts';
import { irqlName } from '../kernel/irql.ts';
import type { Kernel } from '../kernel/kernel.ts';
import type { TraceEvent } from '../kernel/trace.ts';

/**
 * WinDbg's everyday extensions, for a JavaScript debugger's console: `dirql.irql()` is `!irql`,
 * `dirql.routines()` the `!pcr`/`k` of every processor, `dirql.dpcs()` `!dpcs`, `dirql.interrupts()`
 * `!idt`, `dirql.trace(n)` the kernel's last n events. Evaluated while paused in driver code they
 * describe the routine you are stopped in (the kernel's activation follows the paused frame);
 * otherwise the processor state of the most recently started kernel.
 */
export interface DirqlDebuggerExtensions {
  /** `!irql`: the IRQL of the code you are stopped in, with its name, processor and routine. */
  irql(): string;
  /** KeGetCurrentProcessorNumberEx of the code you are stopped in (-1 outside kernel-run code). */
  processor(): number;
  /** Per processor: its IRQL and the nested routines running on it, outermost first. */
  routines(): ProcessorView[];
  /** The queued DPCs of each processor, in the order they will run. */
  dpcs(): { processor: number; dpcs: string[] }[];
  /** Every connected interrupt: line, DIRQL, synchronize IRQL, processors, whether its ISR runs now. */
  interrupts(): InterruptView[];
  /** The kernel's last `n` trace events (ISR entries, DPC queueing, IRQL changes, bug checks). */
  trace(n?: number): TraceEvent[];
  /** The kernels this process runs (one per driver host), newest last. */
  readonly kernels: readonly Kernel[];
}

export interface ProcessorView {
  readonly processor: number;
  readonly irql: string;
  readonly routines: readonly RoutineSnapshot[];
}

export interface InterruptView {
  readonly name: string;
  readonly line: number;
  readonly irql: number;
  readonly synchronizeIrql: number;
  readonly passive: boolean;
  readonly processors: string;
}

const kernels: Kernel[] = [];

/** The kernel whose code is running (paused) now, else the newest one. */
function focus(): Kernel {
  for (const k of kernels) if (k.current() !== undefined) return k;
  const k = kernels.at(-1);
  if (!k) throw new Error('dirql: no kernel is running in this process');
  return k;
}

const extensions: DirqlDebuggerExtensions = {
  irql() {
    const k = focus();
    const act = k.current();
    if (!act) return 'no kernel routine is running here (host code, PASSIVE_LEVEL by convention)';
    const routine = act.routines.at(-1)?.name ?? act.kind;
    return `${act.irql} (${irqlName(act.irql)}) on processor ${act.processor.index}, in ${routine}`;
  },
  processor() {
    for (const k of kernels) {
      const act = k.current();
      if (act) return act.processor.index;
    }
    return -1;
  },
  routines() {
    return focus().processors.map((p) => ({ processor: p.index, irql: `${p.irql} (${irqlName(p.irql)})`, routines: p.running() }));
  },
  dpcs() {
    return focus().processors.map((p) => ({ processor: p.index, dpcs: p.dpcQueue.map((d) => d.name) }));
  },
  interrupts() {
    const k = focus();
    return k.connectedInterrupts.map((i) => ({
      name: i.name,
      line: i.line,
      irql: i.irql,
      synchronizeIrql: i.synchronizeIrql,
      passive: i.passive,
      processors: i.affinity ? [...i.affinity].join(',') : 'any',
    }));
  },
  trace(n = 20) {
    return focus().trace.tail(n);
  },
  get kernels() {
    return kernels;
  },
};

/**
 * Puts `dirql` on globalThis for `kernel` (several kernels may share it); returns the undo. The host
 * calls it when the inspector is open (`inspector.url()` defined: --inspect, or `dirql up --inspect`).
 */
export function installDebuggerExtensions(kernel: Kernel): () => void {
  if (!kernels.includes(kernel)) kernels.push(kernel);
  (globalThis as { dirql?: DirqlDebuggerExtensions }).dirql = extensions;
  return () => {
    const i = kernels.indexOf(kernel);
    if (i >= 0) kernels.splice(i, 1);
    if (kernels.length === 0) delete (globalThis as { dirql?: DirqlDebuggerExtensions }).dirql;
  };
}

/** Installs the extensions only when a debugger can be attached (the inspector is open). */
export function installDebuggerExtensionsIfInspecting(kernel: Kernel): () => void {
  return inspector.url() !== undefined ? installDebuggerExtensions(kernel) : () => {};
}
