/**
 * The explorer's strategies: how run `seed` decides. Random and PCT are functions of the seed
 * (so `--replay <seed>` and `--shard` need nothing else); preemption-bounded search enumerates the
 * schedules of a small space in a fixed order, its "seed" being the index in that order.
 */
import { DELIVER_LATER, SchedulerRandom, type DecisionKind } from '../kernel/index.ts';
import { RecordingPolicy, type Decision } from './schedule.ts';

export type StrategyName = 'random' | 'pct' | 'pb';

export interface Strategy {
  readonly name: StrategyName;
  /** What a run of this strategy is guaranteed to find, where it has a guarantee. */
  readonly guarantee: string | undefined;
  /** The policy of run `seed`, or null when the strategy has no more runs (pb's space is covered). */
  policyFor(seed: number): RecordingPolicy | null;
  /** Told each run's decisions in run order (pb derives the next schedules from them). */
  finished?(seed: number, decisions: readonly Decision[]): void;
}

/** The choice that is no preemption: leave the interrupt pending, keep the first runnable. */
function defaultChoice(kind: DecisionKind): number {
  return kind === 'deliver' ? DELIVER_LATER : 0;
}

/** Random: each decision uniform over its options (deliver now or later with probability 1/2). */
class RandomPolicy extends RecordingPolicy {
  private readonly rng: SchedulerRandom;

  constructor(seed: number) {
    super();
    this.rng = new SchedulerRandom(seed);
  }

  protected choose(_kind: DecisionKind, labels: readonly string[]): number {
    return this.rng.below(labels.length);
  }
}

/**
 * PCT (Burckhardt et al., ASPLOS 2010) over the kernel's decisions: every label (an interrupt
 * line, a routine on its processor) is a "thread" with a random priority; each decision takes
 * its highest-priority option; at d − 1 change points drawn from the first k steps the option
 * about to be taken drops below every initial priority. An interrupt is thus delivered at the
 * first point where it outranks the running routine: a bug needing d ordering constraints is hit
 * with probability at least 1/(n·k^(d−1)) per run (n labels, k steps).
 */
class PctPolicy extends RecordingPolicy {
  private readonly rng: SchedulerRandom;
  private readonly priority = new Map<string, number>();
  private readonly changeAt: number[];
  private readonly depth: number;

  constructor(seed: number, depth: number, steps: number) {
    super();
    this.rng = new SchedulerRandom(seed);
    this.depth = depth;
    const points = new Set<number>();
    const k = Math.max(steps, depth - 1);
    while (points.size < depth - 1) points.add(this.rng.below(k));
    this.changeAt = [...points];
  }

  protected choose(_kind: DecisionKind, labels: readonly string[], step: number): number {
    let best = this.highest(labels);
    const j = this.changeAt.indexOf(step);
    if (j >= 0) {
      // Lowered priorities 0..d-2 sit below every initial one (>= d).
      this.priority.set(labels[best]!, this.depth - 2 - j);
      best = this.highest(labels);
    }
    return best;
  }

  private highest(labels: readonly string[]): number {
    let best = 0;
    let top = -1;
    for (let i = 0; i < labels.length; i++) {
      let p = this.priority.get(labels[i]!);
      if (p === undefined) {
        p = this.depth + this.rng.below(0x7fffffff);
        this.priority.set(labels[i]!, p);
      }
      if (p > top) {
        top = p;
        best = i;
      }
    }
    return best;
  }
}

/** Follows a list of deviations from the default choice, the default elsewhere. */
class DeviationPolicy extends RecordingPolicy {
  private readonly at: ReadonlyMap<number, number>;

  constructor(deviations: readonly (readonly [step: number, choice: number])[]) {
    super();
    this.at = new Map(deviations);
  }

  protected choose(kind: DecisionKind, _labels: readonly string[], step: number): number {
    return this.at.get(step) ?? defaultChoice(kind);
  }
}

/**
 * Preemption-bounded search (CHESS, Musuvathi & Qadeer, PLDI 2007): every schedule with at most
 * `bound` choices other than the default (a delivered interrupt or a switch to another runnable
 * is a preemption), breadth first from the schedule with none. Each run's decisions give its
 * children: one more deviation at a later step, each other option.
 */
class PreemptionBounded implements Strategy {
  readonly name = 'pb' as const;
  readonly guarantee: string;
  private readonly queue: (readonly (readonly [number, number])[])[] = [[]];
  private readonly bySeed = new Map<number, readonly (readonly [number, number])[]>();
  private next = 0;
  private readonly bound: number;

  constructor(bound: number) {
    this.bound = bound;
    this.guarantee = `every schedule with at most ${bound} preemptions, once the space is covered (CHESS found every bug of its study within 2)`;
  }

  policyFor(seed: number): RecordingPolicy | null {
    while (this.next <= seed) {
      const d = this.queue.shift();
      if (d === undefined) return null;
      this.bySeed.set(this.next++, d);
    }
    const d = this.bySeed.get(seed);
    return d === undefined ? null : new DeviationPolicy(d);
  }

  finished(seed: number, decisions: readonly Decision[]): void {
    const d = this.bySeed.get(seed);
    if (d === undefined || d.length >= this.bound) return;
    const after = d.length === 0 ? 0 : d[d.length - 1]![0] + 1;
    for (let step = after; step < decisions.length; step++) {
      const [kind, n] = decisions[step]!;
      for (let c = 0; c < n; c++) if (c !== defaultChoice(kind)) this.queue.push([...d, [step, c]]);
    }
  }
}

export interface StrategyOptions {
  readonly depth?: number;
  /** PCT's k: decision points of the schedule without preemptions (the explorer measures it). */
  readonly steps?: number;
  readonly bound?: number;
}

export function makeStrategy(name: StrategyName, opts: StrategyOptions = {}): Strategy {
  if (name === 'pb') return new PreemptionBounded(opts.bound ?? 2);
  if (name === 'pct') {
    const d = opts.depth ?? 2;
    const k = Math.max(1, opts.steps ?? 1);
    return {
      name,
      guarantee: `PCT depth ${d}: a bug of depth ${d} is found with probability >= 1/(n*k^${d - 1}) per run, n the routines and lines taking part, k = ${k} decision points`,
      policyFor: (seed) => new PctPolicy(seed, d, k),
    };
  }
  return { name, guarantee: undefined, policyFor: (seed) => new RandomPolicy(seed) };
}

/** The schedule without preemptions (pb's root), which also measures PCT's k. */
export function noPreemptionPolicy(): RecordingPolicy {
  return new DeviationPolicy([]);
}
