export { Kernel } from './kernel.ts';
export type { KernelOptions, KernelLimits } from './kernel-options.ts';
export { Irql, DEFAULT_DIRQL, irqlName, isValidIrql, isDeviceIrql, type KIRQL } from './irql.ts';
export { ExceptionCode, mapException } from './exception-codes.ts';
export { DdiRule, irqlCheckFor, type IrqlCheck } from './ddi-rules.ts';
export { Processor } from './processor.ts';
export { Activation, type ActivationKind, type RoutineRecord } from './activation.ts';
export { InterruptObject, InterruptLock, type ConnectInterruptOptions, type InterruptServiceRoutine } from './interrupt.ts';
export { Dpc, type DeferredRoutine, type DpcImportance } from './dpc.ts';
export { SpinLock } from './spin-lock.ts';
export type { KernelLock } from './locks.ts';
export {
  BugCheckCode,
  BugCheckError,
  DeviceLostError,
  DeviceLostWhere,
  VerifierViolation,
  bugCheckName,
  formatBugCheckText,
  isDeviceLostReport,
  type BugCheckInfo,
  type BugCheckReport,
  type DeviceLoss,
  type DeviceLossMonitor,
  type ProcessorSnapshot,
  type RoutineSnapshot,
} from './bugcheck.ts';
export { Verifier, type VerifierOptions, type VerifierFinding } from './verifier.ts';
export { Lockset, type LocksetMode, type LocksetFinding, type LocksetAccess, type LocksetAccessKind } from './lockset.ts';
export { defineRegisterMap, withRegisterSemantics, type RegisterMap, type RegisterSemantics, type RegisterDeclaration } from './register-map.ts';
export { DeviceRegisters, type RegisterBackend, type DeviceRegistersOptions } from './registers.ts';
export { isThenable, RESOLVED } from './thenable.ts';
export { TraceBuffer, type TraceEvent, type TraceFormatter } from './trace.ts';
export { Scheduler, SchedulerRandom, type ChoiceSource } from './scheduler.ts';
export { DELIVER_LATER, DELIVER_NOW, MAX_DEFERRALS, type DecisionKind, type SchedulePolicy } from './schedule-policy.ts';
export type { InterruptLineSource } from './lines.ts';
export type { KernelObserver, ObservedRoutineKind } from './observer.ts';
export { KernelError, KernelContextError, DriverStoppedError } from './errors.ts';
export { KernelEvent, type EventType } from './event.ts';
export { KernelTimer } from './timer.ts';
export { realClock, type KernelClock, type TimeCheck } from './clock.ts';
export { CLOCK_TICK_MS } from './timing-checks.ts';
export { PERFORMANCE_FREQUENCY, TIME_INCREMENT } from './time-readings.ts';
