import type { Activation, RoutineRecord } from './activation.ts';
import type { KernelLock } from './locks.ts';

/** The routines an observer sees begin and end (thread calls interleave on a processor: not shown). */
export type ObservedRoutineKind = 'isr' | 'dpc' | 'synchronize';

/**
 * What a run recorder (src/timeline's RunRecorder) is told of the kernel, as it happens. The kernel
 * calls it only while one is attached (`Kernel.observe`): with none, each hook is one load and one
 * predictable branch. Calls are synchronous and must not call back into the kernel.
 */
export interface KernelObserver {
  /** An ISR, a DPC or a synchronize callback is entered on `act`'s processor; `routine` is its record (the key of routineReturned). */
  routineEntered(act: Activation, kind: ObservedRoutineKind, routine: RoutineRecord): void;
  routineReturned(act: Activation, routine: RoutineRecord): void;
  /** Processor `processor`'s IRQL may have changed (called on every recomputation; the value may repeat). */
  irqlChanged(processor: number, irql: number): void;
  /** A spin lock or an interrupt lock was granted to `act`. */
  lockAcquired(act: Activation, lock: KernelLock): void;
  /** `lock` is about to be released; `owner` held it. */
  lockReleased(lock: KernelLock, owner: Activation | null): void;
  /** A register access through DeviceRegisters: READ_REGISTER_ULONG (`write` false) or WRITE_REGISTER_ULONG. */
  registerAccessed(act: Activation, device: string, write: boolean, offset: number, value: number, register: string | undefined): void;
}
