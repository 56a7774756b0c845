import type { DecisionKind, SchedulePolicy } from '../kernel/index.ts';
import { DirqlError } from '../util/errors.ts';

/** One decision the kernel asked for: its kind, how many options it had, which was taken. */
export type Decision = readonly [kind: DecisionKind, options: number, choice: number];

/** A run's schedule as written next to a failing run, and read back by `--replay <file>`. */
export interface ScheduleFile {
  readonly scenario: string;
  readonly strategy: string;
  readonly seed: number;
  readonly depth?: number;
  readonly hash: string;
  readonly decisions: readonly Decision[];
}

/** A replayed schedule asked for a decision it does not hold, or one of another shape: the scenario is not deterministic. */
export class ScheduleDivergedError extends DirqlError {}

/**
 * A policy that records every decision it makes (the run's schedule). Subclasses say what to
 * choose; the recording and the hash are here, so every strategy's runs count alike.
 */
export abstract class RecordingPolicy implements SchedulePolicy {
  readonly decisions: Decision[] = [];

  decide(kind: DecisionKind, labels: readonly string[]): number {
    const choice = this.choose(kind, labels, this.decisions.length);
    this.decisions.push([kind, labels.length, choice]);
    return choice;
  }

  protected abstract choose(kind: DecisionKind, labels: readonly string[], step: number): number;
}

/** Repeats a recorded schedule decision by decision; past its end, the default choices. */
export class ReplayPolicy extends RecordingPolicy {
  private readonly recorded: readonly Decision[];

  constructor(recorded: readonly Decision[]) {
    super();
    this.recorded = recorded;
  }

  protected choose(kind: DecisionKind, labels: readonly string[], step: number): number {
    const r = this.recorded[step];
    if (r === undefined) {
      throw new ScheduleDivergedError(`the replayed run asked for decision ${step + 1} (${kind}), but the schedule holds ${this.recorded.length}`, { step, kind });
    }
    if (r[0] !== kind || r[1] !== labels.length) {
      throw new ScheduleDivergedError(`decision ${step + 1} was ${r[0]} of ${r[1]} options when recorded, ${kind} of ${labels.length} now`, { step, kind, recorded: r });
    }
    return r[2];
  }
}

/** A 64-bit FNV-1a of the decision sequence, in hex: runs with equal hashes took the same interleaving. */
export function hashDecisions(decisions: readonly Decision[]): string {
  let lo = 0x811c9dc5;
  let hi = 0x050c5d1f;
  const mix = (byte: number): void => {
    lo = Math.imul(lo ^ byte, 0x01000193) >>> 0;
    hi = Math.imul(hi ^ byte ^ (lo >>> 24), 0x01000193) >>> 0;
  };
  for (const [kind, n, c] of decisions) {
    mix(kind.charCodeAt(0));
    mix(n & 0xff);
    mix(c & 0xff);
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}
