import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DriverModule } from '../host/frameworks/driver-module.ts';
import type { DriverHost, DriverHostOptions } from '../host/driver-host.ts';
import { BugCheckError, type BugCheckReport } from '../kernel/index.ts';
import { logger } from '../util/log.ts';
import { RecordingError, ReplayDivergenceError } from './errors.ts';
import { RecordKind, readRecording, type BugCheckSummary, type Recording } from './format.ts';
import { bugCheckSummary, driverIdentity } from './recorder.ts';
import { ReplaySession, type HostInput } from './replay-machine.ts';

const log = logger('replay');

/** The replay made no progress for this long: the replayed driver waits for something the recording does not hold. */
const STALL_MS = 5000;

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
}

export interface ReplayDivergence {
  position: number;
  expected: unknown;
  actual: unknown;
  routine?: string;
  stack?: string;
  recent: string[];
  message: string;
}

/** What a replay (REPLAY, not QEMU) reached, next to what the recording says the session reached. */
export interface ReplayResult {
  replay: true;
  file: string;
  framework: string;
  /** The replayed driver is the one recorded (same sha256). */
  sameDriver: boolean;
  /** 'same': counters and bug check as recorded; 'different': the replay ran to the end and differs; 'diverged': stopped at the first divergence; 'stalled'. */
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
}

/**
 * Replays a recording: the same driver code, fed from the log instead of QEMU (see README.md).
 * Never throws for a divergence or a stall (they are outcomes); throws RecordingError for a bad file.
 */
export async function replay(file: string, opts: ReplayOptions = {}): Promise<ReplayResult> {
  const recording = readRecording(file);
  const processors = Number(recording.header.config.processors ?? 1);
  if (processors > 1) {
    // The scheduler's turns are in the file and replayed, but when a processor's work becomes runnable still follows the replay's own timing.
    log.warn(
      { file, processors },
      `recorded on ${processors} processors: a replay repeats the scheduler's turns but may still stall or diverge (replay is deterministic on 1 processor)`,
    );
  }
  const config = recording.header.config;
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
  let host: DriverHost | undefined;
  let stalled: ReplayDivergence | undefined;
  let handleHost: ((e: HostInput, position: number) => void) | undefined;
  let clearWatch: (() => void) | undefined;
  let startBugCheck: BugCheckReport | undefined;
  try {
    const ended = new Promise<void>((resolve) => {
      let stopping: Promise<void> | undefined;
      const stop = (): void => {
        stopping ??= (host ? host.stop() : Promise.resolve()).then(resolve, resolve);
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
        else stop();
      };
      let last = -1;
      let since = performance.now();
      const watch = setInterval(() => {
        const p = session.stream.position;
        if (p !== last) {
          last = p;
          since = performance.now();
        } else if (performance.now() - since > (opts.stallMs ?? STALL_MS) && !stopping) {
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
      watch.unref();
      clearWatch = () => clearInterval(watch);
    });
    try {
      host = await DriverHost.start({
        ...hostOptions,
        startMachine: session.startMachine,
        clock: session.clock,
        choices: session.choices,
        netdevWatch: false,
        bugCheckDir: opts.bugCheckDir ?? ownCrashDir!,
      });
    } catch (err) {
      // A bug check while the driver starts ends the session there, as it would have on QEMU.
      startBugCheck = bugCheckIn(err);
      if (!session.divergence && !stalled && !startBugCheck) throw err;
      if (startBugCheck) session.onHost = () => undefined;
    }
    // Inputs reached while the driver was starting are handed over now.
    if (host && handleHost) session.onHost = handleHost;
    await ended;
    clearWatch?.();
    const replayMs = performance.now() - t0;
    const report = host?.bugCheck ?? startBugCheck;
    const counters = host?.sessionCounters();
    const trailer = recording.trailer;
    const divergence = session.divergence ? fromError(session.divergence) : stalled;
    const bugCheck = report ? bugCheckSummary(report) : undefined;
    const same =
      !divergence &&
      session.stream.finished &&
      JSON.stringify(counters) === JSON.stringify(trailer.counters) &&
      JSON.stringify(bugCheck) === JSON.stringify(trailer.bugCheckReport);
    const result: ReplayResult = {
      replay: true,
      file,
      framework: String(config.framework),
      sameDriver: driverIdentity(typeof driver === 'string' ? driver : undefined, String(config.framework)) === recording.header.driverHash,
      outcome: session.divergence ? 'diverged' : stalled ? 'stalled' : same ? 'same' : 'different',
      counters,
      recordedCounters: trailer.counters,
      ...(bugCheck ? { bugCheck } : {}),
      ...(trailer.bugCheckReport ? { recordedBugCheck: trailer.bugCheckReport } : {}),
      ...(divergence ? { divergence } : {}),
      position: session.stream.position,
      finished: session.stream.finished,
      events: recording.events.length,
      replayMs,
      ...(trailer.durationMs !== undefined ? { recordedMs: trailer.durationMs, speedup: trailer.durationMs / replayMs } : {}),
    };
    log.info(`REPLAY of ${file}: ${result.outcome} in ${Math.round(replayMs)} ms`);
    return result;
  } finally {
    clearWatch?.();
    await host?.stop().catch(() => undefined);
    if (ownCrashDir) rmSync(ownCrashDir, { recursive: true, force: true });
  }
}

function bugCheckIn(err: unknown): BugCheckReport | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) if (e instanceof BugCheckError) return e.report;
  return undefined;
}

function fromError(err: ReplayDivergenceError): ReplayDivergence {
  const c = err.context as Record<string, unknown>;
  return {
    position: Number(c.position),
    expected: c.expected,
    actual: c.actual,
    ...(typeof c.routine === 'string' ? { routine: c.routine } : {}),
    ...(typeof c.stack === 'string' ? { stack: c.stack } : {}),
    recent: (c.recent as string[] | undefined) ?? [],
    message: err.message,
  };
}

function describeNext(recording: Recording, position: number): string {
  const next = recording.events.slice(position).find((e) => e[0] === RecordKind.Command || e[0] === RecordKind.Host || e[0] === RecordKind.TimerExpired);
  if (!next) return 'nothing more';
  if (next[0] === RecordKind.Command) return `command '${next[1]}'`;
  return next[0] === RecordKind.Host ? `host ${next[1]}` : `timer ${next[1]} expiring`;
}

export { RecordingError };
