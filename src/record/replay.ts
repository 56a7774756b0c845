import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExploreScenario } from '../explore/scenario.ts';
import type { DriverModule } from '../host/frameworks/driver-module.ts';
import type { DriverHost, DriverHostOptions } from '../host/driver-host.ts';
import type { HostTraceOptions } from '../host/trace.ts';
import { activationStore } from '../kernel/activation.ts';
import { BugCheckError, type BugCheckReport } from '../kernel/index.ts';
import type { Machine, MachineConfig } from '../platform/machine.ts';
import type { TimelineFiles } from '../timeline/index.ts';
import { logger } from '../util/log.ts';
import { RecordingError, ReplayDivergenceError } from './errors.ts';
import { RecordKind, readRecording, type BugCheckSummary, type Recording } from './format.ts';
import { bugCheckSummary, driverIdentity } from './recorder.ts';
import { countersMatch, rxDrainNotes } from './counters.ts';
import { ReplaySession, type HostInput } from './replay-machine.ts';
import { describe, type ReplayMemory } from './replay-stream.ts';

const log = logger('replay');

/** The replay made no progress for this long: the replayed driver waits for something the recording does not hold. */
const STALL_MS = 5000;

/** The process a replay's Perfetto trace names (not the replaying process's pid, which differs each time). */
const REPLAY_TRACE_PID = 1;

/** Host options a recording's header holds that rebuild the same stack. */
const REPLAYED_OPTIONS = [
  'framework',
  'processors',
  'seed',
  'mitigation',
  'mac',
  'ringSlots',
  'sendPoolSize',
  'sendBatch',
  'txRingSize',
  'rxRingSize',
  'receiveBatch',
  'throttle',
  'verifier',
  'limits',
] as const;

export interface ReplayOptions {
  /** The driver to replay (a module path or the module): default the recorded one (its path), else the recorded built-in variant. */
  driver?: string | DriverModule;
  /** Where a replayed bug check's report goes. Default: a temporary directory, removed afterwards. */
  bugCheckDir?: string;
  /** No progress for this long is a stall (the replay ends with an error). Default 5000 ms. */
  stallMs?: number;
  /** Write the replay's timeline (Perfetto and HTML, as DriverHostOptions.trace): its clock is replay time, so every replay writes the same one. */
  trace?: true | HostTraceOptions;
  /** An explore run's recording: the scenario to run (`file.ts#export` or the scenario), default the module its header names. */
  scenario?: string | ExploreScenario;
}

export interface ReplayDivergence {
  position: number;
  expected: unknown;
  actual: unknown;
  /** The kernel routine (ISR, DPC, MiniportXxx, EvtXxx…) running when the driver diverged. */
  routine?: string;
  stack?: string;
  /** The frames of `stack` in the driver's own source (not dirql's src/, node_modules or Node's internals), innermost first. */
  driverFrames?: string[];
  recent: string[];
  message: string;
}

/** What a replay (REPLAY, not QEMU) reached, next to what the recording says the session reached. */
export interface ReplayResult {
  replay: true;
  file: string;
  /** The recorded framework, or 'explore' for an explore run's recording. */
  framework: string;
  /** An explore run's recording: the scenario replayed, its recorded strategy and seed, the decisions of its schedule and how many the replay took ('same' needs all). */
  explore?: { scenario: string; strategy: string; seed: number; decisions: number; replayedDecisions: number; source?: string };
  /** The replayed driver is the one recorded (same sha256; for an explore run, its scenario's module). */
  sameDriver: boolean;
  /** 'same': counters (an explore run's: its failure line) and bug check as recorded; 'different': the replay ran to the end and differs; 'diverged': stopped at the first divergence; 'stalled'. */
  outcome: 'same' | 'different' | 'diverged' | 'stalled';
  counters: Record<string, unknown> | undefined;
  recordedCounters: Record<string, unknown>;
  bugCheck?: BugCheckSummary;
  recordedBugCheck?: BugCheckSummary;
  divergence?: ReplayDivergence;
  /** Recorded events consumed, of all. */
  position: number;
  /** Every recorded command was replayed. */
  finished: boolean;
  events: number;
  replayMs: number;
  recordedMs?: number;
  /** recordedMs / replayMs. */
  speedup?: number;
  /** The replay's timeline files (with `trace`). */
  trace?: TimelineFiles;
  /** What the recording did that a replay does not repeat, and what may differ for it (the RX ring's drain: rxDrainNotes). */
  notes?: string[];
}

/**
 * Replays a recording: the same driver code, fed from the log instead of QEMU (see README.md).
 * Never throws for a divergence or a stall (they are outcomes); throws RecordingError for a bad file.
 */
export async function replay(file: string, opts: ReplayOptions = {}): Promise<ReplayResult> {
  const recording = readRecording(file);
  const processors = Number(recording.header.config.processors ?? 1);
  if (processors > 1) {
    // The scheduler's turns are barriers in the recorded order (replay-machine.ts): deterministic as
    // far as measured (README.md), but host code outside the scheduler still follows the replay's timing.
    log.debug({ file, processors }, `recorded on ${processors} processors: the scheduler's turns are replayed in their recorded places`);
  }
  const config = recording.header.config;
  if (config.explore !== undefined) {
    if (opts.trace !== undefined) {
      throw new RecordingError(
        `${file}: a recording of an explore run replays without a timeline of its own: the failing run's timeline is beside its schedule (dirql explore <scenario> --replay <schedule> writes it again)`,
        { file },
      );
    }
    if (opts.driver !== undefined) {
      throw new RecordingError(
        `${file}: a recording of an explore run replays its scenario (which brings its own driver up): give another scenario module with --scenario, not --driver`,
        {
          file,
        },
      );
    }
    const { replayExplore } = await import('./replay-explore.ts');
    return replayExplore(
      recording,
      { stallMs: opts.stallMs ?? STALL_MS, ...(opts.scenario !== undefined ? { scenario: opts.scenario } : {}) },
      { machine: divergingMemory, fromError, describeNext },
    );
  }
  const session = new ReplaySession(recording);
  const hostOptions: DriverHostOptions = {};
  for (const k of REPLAYED_OPTIONS) if (config[k] !== undefined) (hostOptions as Record<string, unknown>)[k] = config[k];
  if (typeof config.device === 'string') hostOptions.device = config.device;
  const recordedDriver = typeof config.driver === 'string' ? config.driver : undefined;
  const driver = opts.driver ?? recordedDriver;
  if (driver !== undefined) hostOptions.driver = driver;
  const ownCrashDir = opts.bugCheckDir === undefined ? mkdtempSync(join(tmpdir(), 'dirql-replay-')) : undefined;
  const t0 = performance.now();
  log.info(`REPLAY of ${file} (no QEMU): ${recording.events.length} events, ${String(config.framework)}`);
  const { DriverHost } = await import('../host/driver-host.ts');
  // A divergence's stack is taken deep in dirql's qtest and register plumbing: with Node's default
  // of 10 frames the driver's own frames would often be cut off.
  const stackLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = Math.max(stackLimit, DIVERGENCE_STACK_FRAMES);
  let host: DriverHost | undefined;
  let stalled: ReplayDivergence | undefined;
  let handleHost: ((e: HostInput, position: number) => void) | undefined;
  let clearWatch: (() => void) | undefined;
  let startBugCheck: BugCheckReport | undefined;
  try {
    const ended = new Promise<void>((resolve) => {
      let stopping: Promise<void> | undefined;
      let stopSince = 0;
      const stop = (): void => {
        // After a stall or a divergence the recording has nothing more to give the stop.
        if (stalled || session.divergence) session.abandon();
        if (stopping) return;
        stopSince = performance.now();
        stopping = (host ? host.stop() : Promise.resolve()).then(resolve, resolve);
      };
      session.stream.on('error', () => stop());
      session.stream.on('close', () => {
        if (session.divergence) stop();
      });
      handleHost = (e: HostInput, position: number) => {
        const h = host!;
        if (e[1] === 'send') {
          const taken = h.send(e[2]);
          if (taken !== e[2].length) {
            session.stream.diverge(
              new ReplayDivergenceError(`replay diverged at event ${position} of ${file}: the host put ${e[2].length} frames in the TX ring, ${taken} fitted`, {
                file,
                position,
                expected: e[2].length,
                actual: taken,
                recent: session.stream.recentBefore(position),
              }),
            );
          }
        } else if (e[1] === 'receive') h.onReceive(() => undefined);
        else if (e[1] === 'stats') void h.stats().catch(() => undefined);
        else if (e[1] === 'remove') void h.surpriseRemove().catch((err: unknown) => log.warn({ err, file, position }, 'REPLAY: the recorded surprise removal failed'));
        // On several processors the stop's own scheduler turns are recorded among the driver's: it
        // starts here, as it did then (waiting for the driver to go quiet would take them elsewhere).
        else if (processors > 1) stop();
        else void settled(h, session).then(stop);
      };
      let last = -1;
      let since = performance.now();
      const watch = setInterval(() => {
        const p = session.stream.position;
        if (stopping) {
          const stopMs = opts.stallMs ?? STALL_MS;
          if (performance.now() - stopSince <= stopMs) return;
          // The host's stop waits on the recording (a turn or a reply it holds back): give up on it,
          // then, if even that does not end the stop, on the stop itself.
          stopSince = performance.now();
          if (!session.abandoned) {
            stalled ??= {
              position: p,
              expected: describeNext(recording, p),
              actual: 'nothing',
              recent: session.stream.recentBefore(p),
              message: `replay stalled at event ${p} of ${file}: the host's stop did not finish in ${stopMs} ms, the recording has ${describeNext(recording, p)} next`,
            };
            session.abandon();
          } else {
            log.warn({ file, position: p }, `REPLAY: the host's stop did not finish ${stopMs} ms after the replay gave up on the recording; the result is reported without it`);
            resolve();
          }
          return;
        }
        if (p !== last) {
          last = p;
          since = performance.now();
        } else if (performance.now() - since > (opts.stallMs ?? STALL_MS)) {
          stalled = {
            position: p,
            expected: describeNext(recording, p),
            actual: 'nothing',
            recent: session.stream.recentBefore(p),
            message: `replay stalled at event ${p} of ${file}: the driver did nothing for ${opts.stallMs ?? STALL_MS} ms, the recording has ${describeNext(recording, p)} next`,
          };
          stop();
        }
      }, 100);
      // Not unref'd: a replay waiting on nothing else must end as stalled, not let the process exit under it (exit 13).
      clearWatch = () => clearInterval(watch);
    });
    const deliveries = session.deliveries();
    try {
      host = await DriverHost.start({
        ...hostOptions,
        startMachine: divergingMemory(session),
        clock: session.clock,
        choices: session.choices,
        handOuts: session.handOuts(),
        readHandOuts: session.readHandOuts(),
        ...(deliveries ? { deliveries } : {}),
        netdevWatch: false,
        bugCheckDir: opts.bugCheckDir ?? ownCrashDir!,
        // Replay time and a fixed pid: every replay writes the same timeline, byte for byte.
        ...(opts.trace ? { trace: { ...(opts.trace === true ? {} : opts.trace), pid: REPLAY_TRACE_PID } } : {}),
      });
    } catch (err) {
      // A bug check while the driver starts ends the session there, as it would have on QEMU.
      startBugCheck = bugCheckIn(err);
      if (!session.divergence && !stalled && !startBugCheck) throw err;
      if (startBugCheck) session.onHost = () => undefined;
    }
    // Inputs reached while the driver was starting are handed over now.
    if (host && handleHost) session.onHost = handleHost;
    // A service start the recording holds as a turn (version 10, several processors) comes at its
    // turn; the replay waits only for the others (one processor's, an older recording's).
    if (host && !(session.choices.services && host.kernel.processorCount > 1)) {
      const kernel = host.kernel;
      session.stream.servicePending = () => kernel.servicePending;
    }
    await ended;
    clearWatch?.();
    const replayMs = performance.now() - t0;
    const report = host?.bugCheck ?? startBugCheck;
    const counters = host?.sessionCounters();
    const trailer = recording.trailer;
    // A stall comes first when there is one (it is only declared before any stop): the host's stop
    // after it issues its halt's commands past the end of the log, a consequence, not the finding.
    const divergence = stalled ?? (session.divergence ? fromError(session.divergence) : undefined);
    const bugCheck = report ? bugCheckSummary(report) : undefined;
    const notes = rxDrainNotes(trailer.counters, recording.header.version);
    const same = !divergence && session.stream.finished && countersMatch(counters, trailer.counters) && JSON.stringify(bugCheck) === JSON.stringify(trailer.bugCheckReport);
    const result: ReplayResult = {
      replay: true,
      file,
      framework: String(config.framework),
      sameDriver: driverIdentity(typeof driver === 'string' ? driver : undefined, String(config.framework)) === recording.header.driverHash,
      outcome: stalled ? 'stalled' : session.divergence ? 'diverged' : same ? 'same' : 'different',
      counters,
      recordedCounters: trailer.counters,
      ...(bugCheck ? { bugCheck } : {}),
      ...(trailer.bugCheckReport ? { recordedBugCheck: trailer.bugCheckReport } : {}),
      ...(divergence ? { divergence } : {}),
      position: session.stream.replayed,
      finished: session.stream.finished,
      events: recording.events.length,
      replayMs,
      ...(host?.traceFiles ? { trace: host.traceFiles } : {}),
      ...(notes.length > 0 ? { notes } : {}),
      ...(trailer.durationMs !== undefined ? { recordedMs: trailer.durationMs, speedup: trailer.durationMs / replayMs } : {}),
    };
    log.info(`REPLAY of ${file}: ${result.outcome} in ${Math.round(replayMs)} ms`);
    return result;
  } finally {
    Error.stackTraceLimit = stackLimit;
    clearWatch?.();
    // Bounded: a stop the watch already gave up on must not hang the replay here either.
    const stopped = host ? host.stop().catch(() => undefined) : undefined;
    if (stopped) await Promise.race([stopped, new Promise<void>((r) => setTimeout(r, opts.stallMs ?? STALL_MS).unref())]);
    if (ownCrashDir) {
      rmSync(ownCrashDir, { recursive: true, force: true });
      // A stop that outlived the wait may still write its report (a lost device's): that goes too.
      void stopped?.then(() => rmSync(ownCrashDir, { recursive: true, force: true }));
    }
  }
}

/** Turns of the event loop a replay gives the driver to go quiet before the recorded stop. */
const SETTLE_TURNS = 10_000;

/**
 * Where the recording has the host's stop, the session had gone quiet: the replayed driver gets
 * to finish the DPC running on the last replies, and the RX ring to be drained to the listener,
 * before the replay stops the host (otherwise the frames of the last DPC are not delivered).
 */
async function settled(host: DriverHost, session: ReplaySession): Promise<void> {
  const turn = (): Promise<void> => new Promise<void>((r) => setImmediate(r));
  for (let i = 0; i < SETTLE_TURNS && !session.divergence && !host.kernel.isQuiescent(); i++) await turn();
  // The drain loop wakes on a promise the last DPC resolved: one more turn delivers what it queued.
  await turn();
}

/** Frames kept in a divergence's stack. */
const DIVERGENCE_STACK_FRAMES = 50;
/** dirql's own source: frames under it are plumbing, not the driver. */
const DIRQL_SRC = fileURLToPath(new URL('../', import.meta.url));

/**
 * The frames of a stack in the driver's source: the built-in drivers (src/drivers/) and any file
 * outside dirql's src/, but not node_modules or Node's internals.
 */
export function driverFrames(stack: string, dirqlSrc = DIRQL_SRC): string[] {
  const drivers = join(dirqlSrc, 'drivers/');
  const plumbing = (l: string): boolean => l.includes(dirqlSrc) && !l.includes(drivers);
  return stack
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('at ') && !plumbing(l) && !l.includes('node_modules') && !l.includes('(node:') && !l.startsWith('at node:') && !l.endsWith('(<anonymous>)'));
}

/**
 * The replay's machine with its memory checked like its qtest stream: a read the recording does not
 * hold at that point stops the replay as a divergence (naming the routine that made it and its
 * stack), not only as an exception inside the driver, which its bug check would report as a crash.
 */
function divergingMemory(session: ReplaySession): (cfg: MachineConfig) => Promise<Machine> {
  return async (cfg) => {
    const machine = await session.startMachine(cfg);
    const m = session.memory;
    const checked = <T>(read: () => T): T => {
      try {
        return read();
      } catch (err) {
        if (err instanceof ReplayDivergenceError) session.stream.diverge(withRoutine(err, session));
        throw err;
      }
    };
    const memory: ReplayMemory = Object.assign(Object.create(m) as ReplayMemory, {
      read: (addr: number, length: number) => checked(() => m.read(addr, length)),
      readInto: (addr: number, target: Uint8Array) => checked(() => m.readInto(addr, target)),
      readAsync: async (addr: number, length: number) => checked(() => m.read(addr, length)),
    });
    return new Proxy(machine, { get: (target, key, receiver) => (key === 'memory' ? memory : Reflect.get(target, key, receiver)) });
  };
}

/** The divergence of a memory read, with the routine running and the stack of the read. */
function withRoutine(err: ReplayDivergenceError, session: ReplaySession): ReplayDivergenceError {
  const act = activationStore.getStore();
  const routine = act ? (act.routines.at(-1)?.name ?? act.name) : undefined;
  const stack = err.stack?.split('\n').slice(1).join('\n');
  const c = err.context as Record<string, unknown>;
  const actual = c.actual as { addr: number; length: number };
  const expected = c.expected as { addr: number; length: number } | undefined;
  return new ReplayDivergenceError(`${err.message}${routine ? ` (in ${routine})` : ''}`, {
    ...c,
    // Where in the whole recording (the read's index among the reads is `memoryRead`).
    position: session.stream.position,
    memoryRead: c.position,
    recent: session.stream.recentBefore(session.stream.position),
    expected: expected ? `memory read of ${expected.length} bytes at 0x${expected.addr.toString(16)}` : 'no more memory reads',
    actual: `memory read of ${actual.length} bytes at 0x${actual.addr.toString(16)}`,
    ...(routine ? { routine } : {}),
    ...(stack ? { stack } : {}),
  });
}

function bugCheckIn(err: unknown): BugCheckReport | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) if (e instanceof BugCheckError) return e.report;
  return undefined;
}

function fromError(err: ReplayDivergenceError): ReplayDivergence {
  const c = err.context as Record<string, unknown>;
  const frames = typeof c.stack === 'string' ? driverFrames(c.stack) : [];
  return {
    position: Number(c.position),
    expected: c.expected,
    actual: c.actual,
    ...(typeof c.routine === 'string' ? { routine: c.routine } : {}),
    ...(typeof c.stack === 'string' ? { stack: c.stack } : {}),
    ...(frames.length > 0 ? { driverFrames: frames } : {}),
    recent: (c.recent as string[] | undefined) ?? [],
    message: err.message,
  };
}

function describeNext(recording: Recording, position: number): string {
  const next = recording.events
    .slice(position)
    .find((e) => e[0] === RecordKind.Command || e[0] === RecordKind.Host || e[0] === RecordKind.TimerExpired || e[0] === RecordKind.Schedule);
  if (!next) return 'nothing more';
  if (next[0] === RecordKind.Command) return `command '${next[1]}'`;
  if (next[0] === RecordKind.Schedule) return describe(next);
  if (next[0] === RecordKind.Host) return `host input '${describe(next)}'`;
  return `timer ${next[1]} expiring`;
}

export { RecordingError };
