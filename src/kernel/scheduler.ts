import type { Activation } from './activation.ts';
import type { SchedulePolicy } from './schedule-policy.ts';

/**
 * Where the scheduler's seeded choices come from: an index in [0, n). SchedulerRandom by default; a
 * recording logs each choice, a replay returns the recorded ones (src/record).
 */
export interface ChoiceSource {
  /**
   * `labels` (when `labelled`): what each option is (`dpc:MiniportInterruptDPC@1`), for a replay to
   * pick the same one; a labelled source is asked at every scheduler turn, one option too, and may
   * answer -1 (run nobody yet: wait for the next change).
   */
  below(n: number, labels?: readonly string[]): number;
  /** Wants the options' labels (a recording, a replay); the plain PRNG does not, so none are built. */
  readonly labelled?: boolean;
  /**
   * A labelled source's: asked at every choose() too, one candidate included, with the candidates'
   * labels (`processor 1`). A replay of a recording that logged only choices among several says no.
   */
  readonly everyChoice?: boolean;
  /**
   * A replay's: false while the recording has not reached the choice the next choose() is to take
   * (chooseWhenDue waits for it, as a host-code wait woken with the scheduler).
   */
  choiceDue?(): boolean;
  /**
   * A labelled source's: a processor's start on its pending work (parkService, `service@1`) is a
   * turn of its own, asked with its label alone, and may wait (-1) like any turn. Without it the
   * start is a host-code wait the next tick resolves, written nowhere (recordings before version 10).
   */
  readonly services?: boolean;
  /**
   * Given the scheduler's wake-up when it is built: a source that answered -1 because of something
   * outside the scheduler (a replay whose log has not reached the turn yet) calls it once that changed,
   * as nothing the scheduler watches would.
   */
  attach?(wake: () => void): void;
}

/**
 * The scheduler's deterministic PRNG (xorshift32 over a splitmix32-mixed seed): same seed, same
 * choices. Not util/seeded-random.ts's SeededRandom: recorded schedules depend on this sequence.
 */
export class SchedulerRandom implements ChoiceSource {
  private state: number;

  constructor(seed: number) {
    let z = (Math.trunc(seed) + 0x9e3779b9) >>> 0;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    this.state = (z ^ (z >>> 16)) >>> 0 || 1;
  }

  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }

  /** Uniform-enough integer in [0, n). */
  below(n: number): number {
    return this.next() % n;
  }
}

interface Waiter {
  /** null: a condition wait of host code (quiesce) that needs no processor. */
  readonly act: Activation | null;
  /** A processor's service start asked of a source that logs it (parkService): its label. */
  readonly label?: string;
  readonly ready: () => boolean;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Decides who runs next. Routines park here at kernel points (after their register I/O is done,
 * while spinning on a lock, while waiting); a dispatch tick (setImmediate, so everything that became
 * ready in the same turn competes) resumes ONE runnable activation, chosen by the seeded PRNG when
 * there are several processors and first-come first-served with one. The resumed routine runs until
 * it parks again, so the interleaving at preemption points is a function of seed and inputs.
 */
export class Scheduler {
  private parked: Waiter[] = [];
  private tickScheduled = false;
  /** Number of seeded choices made so far (a determinism aid for tests). */
  decisions = 0;
  private readonly rng: ChoiceSource;
  private readonly canRun: (act: Activation) => boolean;
  private readonly seeded: boolean;
  private readonly policy: SchedulePolicy | null;
  /** stop() was called: a host-code wait would never be woken again. */
  private halted = false;

  constructor(rng: ChoiceSource, canRun: (act: Activation) => boolean, seeded: boolean, policy: SchedulePolicy | null = null) {
    this.rng = rng;
    this.canRun = canRun;
    this.seeded = seeded;
    this.policy = policy;
    rng.attach?.(() => this.wake());
  }

  /** Resolves when `act` may run on its processor and `ready()` holds. */
  park(act: Activation | null, ready: () => boolean = alwaysReady, state?: string): Promise<void> {
    if (act && state) act.state = state;
    return this.enqueue(act, ready);
  }

  /**
   * Resolves at a tick, when processor `index` is to start on its pending work (Preemption's
   * service of an idle processor). A source that logs services (a recording, a replay of version
   * 10 on) takes it as a turn labelled `service@index`, so a replay starts it where the session did
   * among the other turns; otherwise it is host code's wait.
   */
  parkService(index: number): Promise<void> {
    const logged = this.seeded && this.policy === null && this.rng.services === true;
    return this.enqueue(null, alwaysReady, logged ? serviceLabel(index) : undefined);
  }

  private enqueue(act: Activation | null, ready: () => boolean, label?: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.parked.push({ act, label, ready, resolve, reject });
      this.wake();
    });
  }

  /** Something changed (IRQL lowered, lock released, activation ended): re-evaluate parked waiters. */
  wake(): void {
    if (this.tickScheduled || this.parked.length === 0) return;
    this.tickScheduled = true;
    setImmediate(() => this.tick());
  }

  get parkedCount(): number {
    return this.parked.length;
  }

  /** The driver stopped: activations unwind with `err`, host-code waits simply end. */
  stop(err: unknown): void {
    this.halted = true;
    const all = this.parked;
    this.parked = [];
    for (const w of all) {
      if (w.act) w.reject(err);
      else w.resolve();
    }
  }

  private tick(): void {
    this.tickScheduled = false;
    const runnable: Waiter[] = [];
    // A service start a replay holds back (-1) may be due once a turn of this tick is taken.
    let heldService = false;
    for (let i = 0; i < this.parked.length;) {
      const w = this.parked[i]!;
      if ((w.act === null || this.canRun(w.act)) && w.ready()) {
        if (w.act === null) {
          if (w.label !== undefined && this.rng.below(1, [w.label]) < 0) {
            heldService = true;
            i++;
            continue;
          }
          this.parked.splice(i, 1);
          w.resolve();
          continue;
        }
        runnable.push(w);
      }
      i++;
    }
    if (runnable.length === 0) return;
    let pick = runnable[0]!;
    if (this.seeded && this.policy === null && this.rng.labelled) {
      // Recorded or replayed: every turn's pick is logged by its label, a single option too, and a
      // replay waits (returns -1) until the activation the recording ran next is runnable.
      if (runnable.length > 1) this.decisions++;
      const i = this.rng.below(runnable.length, runnable.map(labelOf));
      if (i < 0) return;
      pick = runnable[i]!;
    } else if (this.seeded && runnable.length > 1) {
      this.decisions++;
      pick = runnable[this.policy === null ? this.rng.below(runnable.length) : this.policy.decide('run', runnable.map(labelOf))]!;
    }
    this.parked.splice(this.parked.indexOf(pick), 1);
    if (pick.act) pick.act.state = undefined;
    pick.resolve();
    if (runnable.length > 1 || heldService) this.wake();
  }

  /**
   * A seeded choice for the kernel's own decisions (which processor a thread starts on), among
   * `items` labelled by `label` for a source that logs every choice (a recording, a replay).
   */
  choose<T>(items: readonly T[], label?: (item: T) => string): T {
    if (items.length === 0) throw new RangeError('choose() needs at least one item');
    if (!this.seeded) return items[0]!;
    if (this.policy === null && this.rng.everyChoice && label) {
      if (items.length > 1) this.decisions++;
      const i = this.rng.below(items.length, items.map(label));
      return items[i < 0 ? 0 : i]!;
    }
    if (items.length === 1) return items[0]!;
    this.decisions++;
    return items[
      this.policy === null
        ? this.rng.below(items.length)
        : this.policy.decide(
            'run',
            items.map((_, i) => `item ${i}`),
          )
    ]!;
  }

  /**
   * choose() among `candidates()` for a caller that can wait: a replay first waits until the
   * recording has reached that choice, and the candidates are looked at then (which processors are
   * idle is what the recorded choice was made among). Otherwise at once, a plain value.
   */
  chooseWhenDue<T>(candidates: () => readonly T[], label: (item: T) => string): T | Promise<T> {
    const due = this.rng.choiceDue;
    if (!this.seeded || due === undefined || this.halted || due.call(this.rng)) return this.choose(candidates(), label);
    return this.park(null, () => due.call(this.rng)).then(() => this.chooseWhenDue(candidates, label));
  }
}

/** A processor choice's label (choose() for a thread call): the processor it starts on. */
export function processorLabel(index: number): string {
  return `processor ${index}`;
}

/** A processor's service start as a turn's label (parkService). */
export function serviceLabel(index: number): string {
  return `service@${index}`;
}

/** Whether a decision label is a processor choice's, not a scheduler turn's (`kind:routine@processor`). */
export function isProcessorLabel(label: string | undefined): boolean {
  return label?.startsWith('processor ') === true;
}

/** An activation as a decision label: its routine on its processor. */
function labelOf(w: Waiter): string {
  const a = w.act!;
  return `${a.kind}:${a.routine}@${a.processor.index}`;
}

const alwaysReady = (): boolean => true;
