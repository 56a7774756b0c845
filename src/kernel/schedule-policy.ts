/**
 * The kernel's scheduling decisions, handed to a `SchedulePolicy` when one is given
 * (`KernelOptions.schedule`): the interleaving explorer (src/explore) decides them and records
 * them as the run's schedule. Without a policy the kernel decides as it always has (deliver at
 * once; the seeded PRNG picks among runnable activations), at the cost of one null test.
 */

/**
 * What is being decided:
 * - `deliver`: an interrupt is deliverable at a preemption point of a running routine;
 *   option 0 takes it now, option 1 leaves it pending (a legal schedule: the device could have
 *   raised the line later). The labels are the interrupt line and the running routine.
 * - `run`: several activations are runnable at a scheduler turn (several processors); the option
 *   is the one that runs next. Labels name the activations.
 * - `isr-processor`: several processors could take an asserted line; the option is the one asked
 *   first, which runs the ISR (and so the DPC it queues for its own processor). Labels name them.
 */
export type DecisionKind = 'deliver' | 'run' | 'isr-processor';

export interface SchedulePolicy {
  /** Pick one of `labels` (at least two) for decision `kind`: an index into `labels`. */
  decide(kind: DecisionKind, labels: readonly string[]): number;
}

/** Option indexes of a `deliver` decision. */
export const DELIVER_NOW = 0;
export const DELIVER_LATER = 1;

/**
 * How many preemption points in a row one processor may leave a deliverable interrupt pending
 * before the kernel delivers it without asking: a spinning routine (which passes a preemption
 * point each turn) must not livelock under a policy that always says "later".
 */
export const MAX_DEFERRALS = 16;
