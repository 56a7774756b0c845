/**
 * The interleaving explorer: runs an explore scenario many times on the kernel model, each run's
 * scheduling decisions made by a strategy and recorded; counts distinct interleavings by the hash
 * of the decision sequence; writes each failing run's schedule and timeline; replays a seed or a
 * schedule file decision for decision.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { BugCheckError, type Kernel } from '../kernel/index.ts';
import type { Machine } from '../platform/machine.ts';
import { RunRecorder, type TimelineFiles } from '../timeline/index.ts';
import { DirqlError } from '../util/errors.ts';
import type { LocksetFinding } from '../kernel/index.ts';
import { addFindings, type ExploreFinding, type ExploreResult, type FailedRun } from './results.ts';
import { hashDecisions, RecordingPolicy, ReplayPolicy, type Decision, type ScheduleFile } from './schedule.ts';
import { ReusedMachine } from './qemu-machine.ts';
import { ExploreRunRecording, type ExploreRunIdentity } from './record-run.ts';
import { scenarioSource, type ExploreScenario } from './scenario.ts';
import { makeStrategy, noPreemptionPolicy, type Strategy, type StrategyName } from './strategies.ts';

/** Runs of a failing schedule on QEMU, to record one that fails again. */
const RECORD_ATTEMPTS = 3;

export interface Shard {
  /** 0-based. */
  readonly index: number;
  readonly count: number;
}

export interface ExploreOptions {
  readonly strategy?: StrategyName;
  /** Runs of the unsharded search (a shard runs its share). Default 1000. */
  readonly runs?: number;
  /** PCT's depth d. Default 2. */
  readonly depth?: number;
  /** Run r has seed `seed + r`. Default 1. */
  readonly seed?: number;
  readonly shard?: Shard;
  /** Repeat one run: a seed of this strategy, or a schedule written by a failing run. */
  readonly replay?: { readonly seed: number } | { readonly schedule: ScheduleFile };
  /** Where failing runs' schedules and timelines go. Default: nothing is written. */
  readonly outDir?: string;
  /** Failing runs whose files are written (the rest are counted). Default 3. */
  readonly writeFailures?: number;
  /**
   * A failing run whose files are written is recorded too (src/record), as `<stem>.rec` beside its
   * schedule: QEMU scenarios only (ExploreError for a kernel-only one: nothing enters it from outside).
   * Kept only when the recorded run failed the same way (up to three tries; QEMU's timing varies).
   */
  readonly record?: boolean;
  /**
   * The scenario's module (`file.ts#export`), written into a recording so `dirql replay` loads the
   * scenario again. Default: where loadExploreScenario() loaded it from, if it did.
   */
  readonly source?: string;
  /** One line per failing run. */
  readonly log?: (line: string) => void;
}

export class ExploreError extends DirqlError {}

interface RunOutcome {
  readonly error: Error | undefined;
  readonly decisions: readonly Decision[];
  readonly timeline?: TimelineFiles;
  /** The run's recording (RunRecording.session). */
  readonly recording?: string;
  /** The attached kernel's lockset findings. */
  readonly findings: readonly LocksetFinding[];
}

/** The seeds shard `shard` runs out of `runs` starting at `base`: run r belongs to shard r mod count. */
export function shardSeeds(base: number, runs: number, shard: Shard = { index: 0, count: 1 }): number[] {
  const seeds: number[] = [];
  for (let r = shard.index; r < runs; r += shard.count) seeds.push(base + r);
  return seeds;
}

/** `i/n` (1-based i, as CI matrices count) → a Shard. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const i = m ? Number(m[1]) : NaN;
  const n = m ? Number(m[2]) : NaN;
  if (!(n >= 1 && i >= 1 && i <= n)) throw new ExploreError(`a shard is i/n with 1 <= i <= n, got ${JSON.stringify(text)}`, { shard: text });
  return { index: i - 1, count: n };
}

/** Where a run's files go and under which name; with `session`, the run on QEMU is recorded there (src/record). */
export interface RunRecording {
  readonly dir: string;
  readonly name: string;
  readonly session?: { readonly file: string; readonly run: ExploreRunIdentity };
}

/** One run of `scenario` under `policy`; with `record`, its timeline is written there; `machine` for a QEMU scenario. */
export async function runOnce(scenario: ExploreScenario, policy: RecordingPolicy, seed: number, record?: RunRecording, machine?: ReusedMachine): Promise<RunOutcome> {
  let kernel: Kernel | undefined;
  let recorder: RunRecorder | undefined;
  let error: Error | undefined;
  let timer: NodeJS.Timeout | undefined;
  let session: ExploreRunRecording | undefined;
  const timeoutMs = scenario.timeoutMs ?? 10_000;
  try {
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ExploreError(`run of seed ${seed} did not finish within ${timeoutMs} ms`, { seed, timeoutMs })), timeoutMs);
    });
    const m: Machine | undefined = machine ? await machine.next() : undefined;
    if (m && record?.session) session = await ExploreRunRecording.start(m, record.session.file, record.session.run);
    const given = session?.scenarioMachine ?? m;
    await Promise.race([
      scenario.run({
        ...(given ? { machine: given } : {}),
        kernelOptions: { schedule: policy, seed, ...(session ? { clock: session.clock } : {}) },
        attach(k) {
          kernel = k;
          if (record) recorder = new RunRecorder(k, { name: record.name, ...(m ? { lines: m.lines } : {}) });
        },
      }),
      timedOut,
    ]);
  } catch (err) {
    error = err instanceof Error ? err : new Error(String(err));
  } finally {
    clearTimeout(timer);
  }
  const stopped = (kernel as Kernel | undefined)?.stopped;
  if (!error && stopped) error = stopped;
  // On a reused machine a kernel left running (a run that threw or timed out) would take the next run's interrupts.
  if (machine) (kernel as Kernel | undefined)?.dispose();
  await session?.stop(error, stopped ? await (kernel as Kernel | undefined)?.bugCheckReport : undefined, policy.decisions);
  const timeline = recorder && record ? await recorder.write(record.dir, record.name) : undefined;
  const findings = (kernel as Kernel | undefined)?.verifier.locksetFindings ?? [];
  return { error, decisions: policy.decisions, findings, ...(timeline ? { timeline } : {}), ...(session ? { recording: session.file } : {}) };
}

/** A scenario spec made absolute (a recording may be replayed from another directory). */
function resolveSource(spec: string): string {
  return isAbsolute(spec) ? spec : resolve(process.cwd(), spec);
}

/** The same stop (code and parameters: a bug check's message may hold a measured time) or the same failure line. */
function sameFailure(again: Error | undefined, first: Error): boolean {
  if (again instanceof BugCheckError && first instanceof BugCheckError) {
    return again.code === first.code && again.parameters.every((p, i) => p === first.parameters[i]);
  }
  return again !== undefined && errorLine(again) === errorLine(first);
}

function errorLine(err: Error): string {
  return err.message.split('\n')[0]!;
}

/** Run the search (or the replay) and say what it found. */
export async function explore(scenario: ExploreScenario, opts: ExploreOptions = {}): Promise<ExploreResult> {
  const name = opts.strategy ?? 'random';
  if (name === 'pb' && opts.shard && opts.shard.count > 1) {
    throw new ExploreError('--shard splits the seed space of random and pct; pb enumerates one small space in order (run it unsharded)', { strategy: name });
  }
  if (opts.record && !(scenario.device && scenario.device !== 'kernel')) {
    throw new ExploreError(
      `${scenario.name} runs on the kernel model alone: there is nothing to record (nothing enters it from outside the kernel model), and its schedule file replays a failing run whole (--replay FILE); recording is for scenarios on QEMU (device: 'qemu-e1000')`,
      { scenario: scenario.name },
    );
  }
  const machine = scenario.device && scenario.device !== 'kernel' ? await ReusedMachine.start(scenario.device) : undefined;
  try {
    return await search(scenario, opts, machine);
  } finally {
    await machine?.stop();
  }
}

async function search(scenario: ExploreScenario, opts: ExploreOptions, machine: ReusedMachine | undefined): Promise<ExploreResult> {
  const name = opts.strategy ?? 'random';
  const depth = opts.depth ?? 2;
  const base = opts.seed ?? 1;
  const runs = opts.runs ?? 1000;
  let steps: number | undefined;
  if (name === 'pct') {
    // k: the decision points of the schedule without preemptions (a deterministic probe, so a seed replays alone).
    const probe = await runOnce(scenario, noPreemptionPolicy(), base, undefined, machine);
    steps = Math.max(1, probe.decisions.length);
  }
  const strategy: Strategy = makeStrategy(name, { depth, ...(steps !== undefined ? { steps } : {}) });
  const failures: FailedRun[] = [];
  const hashes = new Set<string>();
  const findings = new Map<string, ExploreFinding>();
  const writeMax = opts.writeFailures ?? 3;
  const t0 = performance.now();
  let ran = 0;

  const failed = async (seed: number, out: RunOutcome): Promise<void> => {
    const hash = hashDecisions(out.decisions);
    const own = new Map<string, ExploreFinding>();
    addFindings(own, seed, out.findings);
    const f: FailedRun = { seed, hash, message: errorLine(out.error!), decisions: out.decisions.length, ...(own.size > 0 ? { findings: [...own.values()] } : {}) };
    if (opts.outDir && failures.length < writeMax) {
      const stem = `${name}-seed-${seed}`;
      await mkdir(opts.outDir, { recursive: true });
      const file: ScheduleFile = { scenario: scenario.name, strategy: name, seed, ...(name === 'pct' ? { depth } : {}), hash, decisions: out.decisions };
      const schedule = join(opts.outDir, `${stem}.schedule.json`);
      await writeFile(schedule, JSON.stringify(file) + '\n');
      // The same decisions again with a recorder attached: the timeline, and proof the failure replays.
      const source = opts.source !== undefined ? resolveSource(opts.source) : scenarioSource(scenario);
      const run: ExploreRunIdentity = { scenario: scenario.name, strategy: name, seed, schedule, ...(source ? { source } : {}), decisions: out.decisions };
      const session = opts.record ? { file: join(opts.outDir, `${stem}.rec`), run } : undefined;
      // On QEMU the device's timing is not the schedule's: the recorded run may miss the failure (an
      // interrupt that arrives after the decision point), and a recording of a passing run is not a
      // reproducer. Try again a few times; a recording that never fails the same way is removed.
      const dir = opts.outDir;
      const runAgain = () => runOnce(scenario, new ReplayPolicy(out.decisions), seed, { dir, name: stem, ...(session ? { session } : {}) }, machine);
      let again = await runAgain();
      for (let tries = 1; tries < (machine ? RECORD_ATTEMPTS : 1) && !sameFailure(again.error, out.error!); tries++) again = await runAgain();
      const replayed = sameFailure(again.error, out.error!);
      if (again.recording && !replayed) {
        await rm(again.recording, { force: true });
        opts.log?.(
          `seed ${seed}: its recorded run did not fail the same way in ${RECORD_ATTEMPTS} tries on the device (the last ${again.error ? `failed: ${errorLine(again.error)}` : 'passed'}), so no recording is kept`,
        );
      }
      if (again.recording && replayed && again.decisions.length < out.decisions.length) {
        opts.log?.(
          `seed ${seed}: its recorded run met ${again.decisions.length} of the schedule's ${out.decisions.length} decision points on the device and failed the same way; the recording replays the decisions it took`,
        );
      }
      failures.push({
        ...f,
        schedule,
        ...(again.timeline ? { timeline: again.timeline } : {}),
        ...(again.recording && replayed ? { recording: again.recording } : {}),
        replayed,
      });
    } else failures.push(f);
    opts.log?.(`FAIL seed ${seed} (${out.decisions.length} decisions, ${hash}): ${f.message}`);
  };

  if (opts.replay) {
    let policy: RecordingPolicy | null;
    let seed: number;
    if ('schedule' in opts.replay) {
      policy = new ReplayPolicy(opts.replay.schedule.decisions);
      seed = opts.replay.schedule.seed;
    } else {
      seed = opts.replay.seed;
      if (name === 'pb') await enumerateTo(scenario, strategy, base, seed - base, machine);
      policy = strategy.policyFor(name === 'pb' ? seed - base : seed);
    }
    if (policy === null) throw new ExploreError(`strategy ${name} has no run of seed ${seed}`, { seed });
    const out = await runOnce(scenario, policy, seed, undefined, machine);
    ran = 1;
    hashes.add(hashDecisions(out.decisions));
    addFindings(findings, seed, out.findings);
    if (out.error) await failed(seed, out);
  } else if (name === 'pb') {
    for (let r = 0; r < runs; r++) {
      const policy = strategy.policyFor(r);
      if (policy === null) break;
      const out = await runOnce(scenario, policy, base + r, undefined, machine);
      ran++;
      strategy.finished?.(r, out.decisions);
      hashes.add(hashDecisions(out.decisions));
      addFindings(findings, base + r, out.findings);
      if (out.error) await failed(base + r, out);
    }
  } else {
    for (const seed of shardSeeds(base, runs, opts.shard)) {
      const out = await runOnce(scenario, strategy.policyFor(seed)!, seed, undefined, machine);
      ran++;
      hashes.add(hashDecisions(out.decisions));
      addFindings(findings, seed, out.findings);
      if (out.error) await failed(seed, out);
    }
  }
  const durationMs = performance.now() - t0;
  return {
    scenario: scenario.name,
    strategy: name,
    ...(name === 'pct' ? { depth, steps } : {}),
    ...(strategy.guarantee ? { guarantee: strategy.guarantee } : {}),
    ...(opts.shard ? { shards: [`${opts.shard.index + 1}/${opts.shard.count}`] } : {}),
    runs: ran,
    failures,
    distinct: hashes.size,
    hashes: [...hashes].sort(),
    durationMs,
    runsPerSecond: ran / (durationMs / 1000),
    findings: [...findings.values()],
  };
}

/** pb's run `index` needs the runs before it (their decisions give the schedules after them). */
async function enumerateTo(scenario: ExploreScenario, strategy: Strategy, base: number, index: number, machine: ReusedMachine | undefined): Promise<void> {
  for (let r = 0; r < index; r++) {
    const policy = strategy.policyFor(r);
    if (policy === null) return;
    strategy.finished?.(r, (await runOnce(scenario, policy, base + r, undefined, machine)).decisions);
  }
}
