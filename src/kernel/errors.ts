import { DirqlError } from '../util/errors.ts';

/** Misuse of the kernel by its host code (facades, tests), not by the driver: no bug check. */
export class KernelError extends DirqlError {}

/** A driver-only API was called outside any routine the kernel runs (no processor, no IRQL). */
export class KernelContextError extends KernelError {}

/** The driver was stopped by a bug check; `cause` is the BugCheckError. */
export class DriverStoppedError extends KernelError {}
