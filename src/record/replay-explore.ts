/**
 * `dirql replay` of an explore run's recording (`dirql explore --record`), without QEMU: the
 * recorded scenario (its module named in the header's `config.explore.source`, or `--scenario`)
 * runs once more with the recorded seed and schedule, on the replay machine instead of QEMU's e1000
 * (its qtest stream, IRQ edges, memory reads, timer expirations and time decisions from the
 * recording), and must reach the recorded outcome: the same failure line (`counters.failed`) and
 * the same bug check. A run recorded with its wire tapped has the frames either way, and QEMU's side
 * of the wire is played to the scenario's peer (replay-wire.ts); a scenario that opens the wire
 * peer in a recording without them does not replay (RecordingError, as for a file that is not
 * replayable).
 */
import { existsSync, readFileSync } from 'node:fs';
import { e1000Device } from '../drivers/e1000/device.ts';
import { loadExploreScenario, scenarioModuleFile, scenarioSource, type ExploreScenario } from '../explore/scenario.ts';
import { ReplayPolicy, ScheduleDivergedError, type Decision, type ScheduleFile } from '../explore/schedule.ts';
import type { ExploreRunIdentity } from '../explore/record-run.ts';
import type { DecisionKind, Kernel } from '../kernel/index.ts';
import type { Machine, MachineConfig } from '../platform/machine.ts';
import { logger } from '../util/log.ts';
import { RecordingError, ReplayDivergenceError } from './errors.ts';
import type { Recording } from './format.ts';
import { bugCheckSummary, driverIdentity } from './recorder.ts';
import { ReplaySession } from './replay-machine.ts';
import { ReplayWire } from './replay-wire.ts';
import type { ReplayDivergence, ReplayResult } from './replay.ts';

const log = logger('replay');

/** An explore recording that cannot be replayed offline (its scenario opens the wire peer), or whose scenario cannot be found. */
export class ExploreReplayError extends RecordingError {}

export interface ExploreReplayOptions {
  /** The scenario to run (`file.ts#export` or the scenario itself): default the module the recording names. */
  scenario?: string | ExploreScenario;
  stallMs: number;
}

/** What the replay needs of the replay.ts plumbing (kept there: the host-session replay uses it too). */
export interface ReplayPlumbing {
  machine(session: ReplaySession): (cfg: MachineConfig) => Promise<Machine>;
  fromError(err: ReplayDivergenceError): ReplayDivergence;
  describeNext(recording: Recording, position: number): string;
}

/** A recorded schedule whose replay asks for another decision: the scenario diverged (reported as the replay's divergence, not only as the run's failure). */
class DivergingPolicy extends ReplayPolicy {
  constructor(
    decisions: readonly Decision[],
    private readonly session: ReplaySession,
  ) {
    super(decisions);
  }

  protected override choose(kind: DecisionKind, labels: readonly string[], step: number): number {
    try {
      return super.choose(kind, labels, step);
    } catch (err) {
      if (err instanceof ScheduleDivergedError) {
        const position = this.session.stream.position;
        this.session.stream.diverge(
          new ReplayDivergenceError(`replay diverged at event ${position} of ${this.session.recording.file}: ${err.message}`, {
            file: this.session.recording.file,
            position,
            decision: step,
            expected: `decision ${step + 1} as scheduled`,
            actual: `${kind} of ${labels.length} options`,
            recent: this.session.stream.recentBefore(position),
          }),
        );
      }
      throw err;
    }
  }
}

function identityOf(recording: Recording): ExploreRunIdentity {
  const run = recording.header.config.explore as Partial<ExploreRunIdentity> | null;
  if (typeof run !== 'object' || run === null || typeof run.scenario !== 'string' || typeof run.seed !== 'number') {
    throw new RecordingError(`${recording.file}: its config.explore is not an explore run's identity (scenario, strategy, seed, schedule)`, {
      file: recording.file,
      explore: run,
    });
  }
  return run as ExploreRunIdentity;
}

async function scenarioFor(recording: Recording, run: ExploreRunIdentity, given: string | ExploreScenario | undefined): Promise<{ scenario: ExploreScenario; spec?: string }> {
  const file = recording.file;
  if (typeof given === 'object') return { scenario: given };
  const spec = given ?? run.source;
  if (spec === undefined) {
    throw new ExploreReplayError(
      `${file}: a recording of an explore run (${run.scenario}) that does not name its scenario's module (explored from a scenario object, not a file): replay it with --scenario <file.ts#export>`,
      { file, scenario: run.scenario },
    );
  }
  let scenario: ExploreScenario;
  try {
    scenario = await loadExploreScenario(spec);
  } catch (err) {
    throw new ExploreReplayError(`${file}: the explore run's scenario ${spec} does not load: ${(err as Error).message}`, { file, scenario: spec }, { cause: err });
  }
  if (scenario.name !== run.scenario) {
    throw new ExploreReplayError(`${file}: recorded from the scenario "${run.scenario}", ${spec} is "${scenario.name}"`, { file, recorded: run.scenario, scenario: scenario.name });
  }
  return { scenario, spec };
}

function decisionsOf(recording: Recording, run: ExploreRunIdentity): readonly Decision[] {
  // The decisions the recorded run took: on QEMU it may have met fewer decision points than its schedule had.
  const taken = recording.trailer.decisions;
  if (taken !== undefined) {
    if (!Array.isArray(taken) || !taken.every(isDecision)) {
      throw new ExploreReplayError(`${recording.file}: the trailer's decisions are not a schedule's ([kind, options, choice] each)`, { file: recording.file });
    }
    return taken as readonly Decision[];
  }
  if (run.decisions !== undefined) return run.decisions;
  // Recorded before the header held the decisions: the schedule file beside it, if it is still there.
  if (typeof run.schedule === 'string' && existsSync(run.schedule)) return (JSON.parse(readFileSync(run.schedule, 'utf8')) as ScheduleFile).decisions;
  throw new ExploreReplayError(`${recording.file}: the explore run's schedule is neither in the recording nor at ${String(run.schedule)}`, {
    file: recording.file,
    schedule: run.schedule,
  });
}

function isDecision(d: unknown): boolean {
  return Array.isArray(d) && d.length === 3 && (d[0] === 'deliver' || d[0] === 'run' || d[0] === 'isr-processor') && Number.isInteger(d[1]) && Number.isInteger(d[2]);
}

/** The failure line of a run, as the explorer writes it into the trailer's `counters.failed`. */
function failedLine(err: Error | undefined): string | null {
  return err?.message.split('\n')[0] ?? null;
}

/** Replays an explore run's recording (see the module comment). Divergences and stalls are outcomes; a file it cannot replay throws RecordingError. */
export async function replayExplore(recording: Recording, opts: ExploreReplayOptions, plumbing: ReplayPlumbing): Promise<ReplayResult> {
  const file = recording.file;
  const run = identityOf(recording);
  const { scenario, spec } = await scenarioFor(recording, run, opts.scenario);
  if (scenario.device !== 'qemu-e1000') {
    throw new ExploreReplayError(`${file}: the scenario "${scenario.name}" does not run on QEMU's e1000, the recording is of a run that did`, { file, device: scenario.device });
  }
  const decisions = decisionsOf(recording, run);
  const session = new ReplaySession(recording);
  // An explore run's inputs are the scenario's own code, run again; the recording holds none of the host's.
  session.onHost = () => undefined;
  const t0 = performance.now();
  log.info(`REPLAY of ${file} (no QEMU): ${recording.events.length} events, explore scenario "${scenario.name}" seed ${run.seed}, ${decisions.length} decisions`);
  const replayMachine = await plumbing.machine(session)({ device: e1000Device() });
  let openedWire = false;
  const wireError = new ExploreReplayError(
    `${file}: the scenario "${scenario.name}" opens the wire peer (machine.wire), and this recording has no wire frames (recorded before dirql tapped the wire), so it does not replay; repeat it on QEMU with dirql explore <scenario> --replay ${String(run.schedule)}`,
    { file, scenario: scenario.name },
  );
  // A run recorded with its wire tapped (record-run.ts) has the frames both ways: QEMU's side of
  // the wire is played to the scenario's peer. Without them the scenario's peer cannot replay.
  const wire = recording.header.config.wire === 'tapped' ? await ReplayWire.open(recording, session.stream) : undefined;
  if (wire) session.onWire = (bytes) => wire.deliver(bytes);
  const machine = new Proxy(replayMachine, {
    get(target, key, receiver) {
      if (key !== 'wire') return Reflect.get(target, key, receiver) as unknown;
      if (wire) return wire.ports;
      openedWire = true;
      throw wireError;
    },
  });
  const policy = new DivergingPolicy(decisions, session);
  let kernel: Kernel | undefined;
  let error: Error | undefined;
  let stalled: ReplayDivergence | undefined;
  let watch: NodeJS.Timeout | undefined;
  const stallMs = opts.stallMs;
  try {
    const interrupted = new Promise<void>((resolve) => {
      session.stream.on('error', () => resolve());
      session.stream.on('close', () => {
        if (session.divergence) resolve();
      });
      let last = -1;
      let since = performance.now();
      // Not unref'd: a replay waiting on nothing else must end as stalled, not let the process exit under it.
      watch = setInterval(() => {
        const p = session.stream.position;
        if (p !== last) {
          last = p;
          since = performance.now();
        } else if (performance.now() - since > stallMs) {
          const next = plumbing.describeNext(recording, p);
          stalled = {
            position: p,
            expected: next,
            actual: 'nothing',
            recent: session.stream.recentBefore(p),
            message: `replay stalled at event ${p} of ${file}: the scenario did nothing for ${stallMs} ms, the recording has ${next} next`,
          };
          resolve();
        }
      }, 100);
    });
    const ran = scenario
      .run({
        machine,
        kernelOptions: { schedule: policy, seed: run.seed, clock: session.clock },
        attach(k) {
          kernel = k;
        },
      })
      .then(
        () => undefined,
        (err: unknown) => (error = err instanceof Error ? err : new Error(String(err))),
      );
    await Promise.race([ran, interrupted]);
  } finally {
    clearInterval(watch);
  }
  if (openedWire) {
    await wire?.close();
    (kernel as Kernel | undefined)?.dispose();
    await machine.stop();
    throw wireError;
  }
  await wire?.close();
  const k = kernel as Kernel | undefined;
  const stopped = k?.stopped;
  if (!error && stopped) error = stopped;
  // As the explorer does before it closes the recording: the kernel disposed, its bug check report awaited.
  k?.dispose();
  const report = stopped && !stalled && !session.divergence ? await k?.bugCheckReport : undefined;
  // What the recorded run did after this point was not recorded: a divergence after it is not the replay's.
  const divergenceError = session.divergence;
  const finished = session.stream.finished;
  const position = session.stream.replayed;
  await machine.stop();
  const replayMs = performance.now() - t0;
  const trailer = recording.trailer;
  const counters = { failed: failedLine(error) };
  const bugCheck = report ? bugCheckSummary(report) : undefined;
  const divergence = stalled ?? (divergenceError ? plumbing.fromError(divergenceError) : undefined);
  // The schedule taken whole: a run that asked for fewer decisions took another interleaving.
  const replayed = policy.decisions.length;
  const same =
    !divergence &&
    finished &&
    replayed === decisions.length &&
    JSON.stringify(counters) === JSON.stringify(trailer.counters) &&
    JSON.stringify(bugCheck) === JSON.stringify(trailer.bugCheckReport);
  // Where the scenario was loaded from, absolute (the identity hashes the path with the content), as the explorer recorded it.
  const source = scenarioSource(scenario) ?? spec ?? run.source;
  const result: ReplayResult = {
    replay: true,
    file,
    framework: 'explore',
    explore: { scenario: scenario.name, strategy: run.strategy, seed: run.seed, decisions: decisions.length, replayedDecisions: replayed, ...(source ? { source } : {}) },
    // The recorder's identity of an explore run: its scenario's module (record-run.ts); the header has no framework (hence 'undefined').
    sameDriver: driverIdentity(source !== undefined ? scenarioModuleFile(source) : undefined, 'undefined') === recording.header.driverHash,
    outcome: stalled ? 'stalled' : divergenceError ? 'diverged' : same ? 'same' : 'different',
    counters,
    recordedCounters: trailer.counters,
    ...(bugCheck ? { bugCheck } : {}),
    ...(trailer.bugCheckReport ? { recordedBugCheck: trailer.bugCheckReport } : {}),
    ...(divergence ? { divergence } : {}),
    position,
    finished,
    events: recording.events.length,
    replayMs,
    ...(trailer.durationMs !== undefined ? { recordedMs: trailer.durationMs, speedup: trailer.durationMs / replayMs } : {}),
  };
  log.info(`REPLAY of ${file}: ${result.outcome} in ${Math.round(replayMs)} ms`);
  return result;
}
