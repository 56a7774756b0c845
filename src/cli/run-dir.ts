/**
 * The run directory of `dirql up` and `dirql run`: every output of one run (bug check reports, the
 * upper-edge pcap unless given a path, the timeline, run.json) under
 * `<outputDir>/runs/<UTC timestamp>-<pid>/`, outputDir defaulting to ./dirql-out (ignored by git),
 * so nothing lands in the repository root and two runs never share a directory.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { checkedQemuBinary } from '../../qemu/qemu-binary.ts';
import type { DriverHostOptions } from '../host/driver-host.ts';
import { DEFAULT_OUTPUT_DIR, utcStamp } from '../util/output-dir.ts';
import type { ConfiguredRun } from './config-options.ts';

export { DEFAULT_OUTPUT_DIR, utcStamp };

export const RUN_JSON = 'run.json';
/** The upper-edge capture's name in the run directory when `--pcap` gives no path. */
export const RUN_PCAP = 'upper-edge.pcapng';
/** The session recording's name in the run directory when `--record` / DIRQL_RECORD gives no path. */
export const RUN_RECORDING = 'session.rec';

/** Where a run's session recording goes, and whether a run that passes removes it. */
export interface RecordingPlan {
  file: string;
  onFailure: boolean;
}

/**
 * `--record [file]`'s value, else DIRQL_RECORD: no value or `on` records into the run directory,
 * `on-failure` too but the file goes when the run passes (exit 0), anything else is a path.
 */
export function planRecording(flag: string | boolean | undefined, dir: string, env = process.env.DIRQL_RECORD): RecordingPlan | undefined {
  const asked = flag ?? (env === undefined || env === '' ? undefined : env);
  if (asked === undefined || asked === false) return undefined;
  if (asked === true || asked === 'on') return { file: join(dir, RUN_RECORDING), onFailure: false };
  if (asked === 'on-failure') return { file: join(dir, RUN_RECORDING), onFailure: true };
  return { file: resolve(asked), onFailure: false };
}

/** The line that names a kept recording and how to replay it. */
export function recordingLine(file: string): string {
  const shown = shownPath(file);
  return `recording ${shown} (replay it without QEMU: dirql replay ${shown})`;
}

/** `<outputDir>/runs/<UTC timestamp>-<pid>`, outputDir resolved against `cwd` (default ./dirql-out). */
export function runDirectoryPath(opts: { outputDir?: string | undefined; cwd?: string; start: Date; pid: number }): string {
  const cwd = opts.cwd ?? process.cwd();
  const out = opts.outputDir === undefined ? resolve(cwd, DEFAULT_OUTPUT_DIR) : isAbsolute(opts.outputDir) ? opts.outputDir : resolve(cwd, opts.outputDir);
  return join(out, 'runs', `${utcStamp(opts.start)}-${opts.pid}`);
}

/** A path as a user would type it from `cwd` (relative when inside it). */
export function shownPath(path: string, cwd = process.cwd()): string {
  const r = relative(cwd, path);
  return r !== '' && !r.startsWith('..') && !isAbsolute(r) ? r : path;
}

/**
 * Where the run's outputs go in the host options: bug check reports in the run directory, the pcap
 * there when asked for without a path (`true`), the timeline there when `trace` is `true`. A path
 * given stands.
 */
export function placeOutputs(host: DriverHostOptions, pcap: string | boolean | undefined, dir: string): DriverHostOptions {
  return {
    bugCheckDir: dir,
    ...host,
    ...(pcap === true ? { pcap: join(dir, RUN_PCAP) } : typeof pcap === 'string' ? { pcap } : {}),
    ...(host.trace === true ? { trace: { path: dir } } : {}),
  };
}

/** `trace: true` (no path given) writes the timeline into the run directory. */
export function traceInto(host: DriverHostOptions, dir: string): DriverHostOptions {
  return host.trace === true ? { ...host, trace: { path: dir } } : host;
}

/**
 * The run directory for `command`, once nothing but the run is left to fail: a missing QEMU binary
 * (QemuBinaryMissingError, exit 2) is found first, so a setup mistake leaves no directory behind.
 * `pcap` is the flag's value (the config's when the flag is absent); a path is resolved from the current directory.
 */
export function openRun(
  command: string,
  configured: ConfiguredRun,
  host: DriverHostOptions,
  pcap: string | boolean | undefined,
  record?: string | boolean,
): { dir: RunDirectory; host: DriverHostOptions } {
  const qemuBinary = checkedQemuBinary(host.machine?.qemuBinary);
  // The config's outputDir, else DIRQL_OUTPUT_DIR (e.g. a container's volume), else ./dirql-out.
  const outputDir = configured.outputDir ?? (process.env.DIRQL_OUTPUT_DIR || undefined);
  const dir = RunDirectory.create({ command, outputDir, config: configured.file, qemuBinary });
  const asked = pcap ?? configured.pcap;
  const placed = placeOutputs(host, typeof asked === 'string' ? resolve(asked) : asked, dir.path);
  const recording = planRecording(record, dir.path);
  if (!recording) return { dir, host: placed };
  dir.recordTo(recording);
  return { dir, host: { ...placed, record: recording.file } };
}

export interface RunExit {
  code: number;
  /** Why it ended: 'stopped', 'interrupted', 'device lost', 'passed', 'failed: …'. */
  reason: string;
}

export interface RunInfo {
  command: string;
  argv: readonly string[];
  cwd: string;
  config?: string;
  pid: number;
  startedAt: string;
  stoppedAt?: string;
  versions: { dirql: string; node: string; qemu?: string };
  /** The host options the run started with (a driver module given as an object: its name only). */
  options: unknown;
  exit?: RunExit;
  /** Files the run wrote, relative to the run directory. */
  files?: string[];
}

function dirqlVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** `qemu-system-x86_64 --version`'s first line; undefined if it cannot be run (the host then says why). */
function qemuVersion(binary: string): string | undefined {
  try {
    return execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 5_000, stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')[0]
      ?.trim();
  } catch {
    return undefined;
  }
}

/** Options as JSON can hold them: a driver module object by its name, functions and symbols left out. */
function plainOptions(options: DriverHostOptions): unknown {
  return JSON.parse(
    JSON.stringify({ ...options, ...(options.driver !== undefined && typeof options.driver !== 'string' ? { driver: '<module object>' } : {}) }, (_k, v: unknown) =>
      typeof v === 'bigint' ? v.toString() : v,
    ),
  );
}

/** One run's directory and its run.json (written at start, and again with the exit at finish). */
export class RunDirectory {
  readonly path: string;
  private readonly info: RunInfo;
  private finished = false;
  private recording: RecordingPlan | undefined;

  private constructor(path: string, info: RunInfo) {
    this.path = path;
    this.info = info;
  }

  /** Make the directory and write run.json without an exit yet (a run killed with SIGKILL leaves that). */
  static create(opts: { command: string; outputDir?: string | undefined; config?: string | undefined; qemuBinary: string; start?: Date }): RunDirectory {
    const start = opts.start ?? new Date();
    const path = runDirectoryPath({ outputDir: opts.outputDir, start, pid: process.pid });
    mkdirSync(path, { recursive: true });
    const qemu = qemuVersion(opts.qemuBinary);
    const dir = new RunDirectory(path, {
      command: opts.command,
      argv: process.argv.slice(2),
      cwd: process.cwd(),
      ...(opts.config !== undefined ? { config: opts.config } : {}),
      pid: process.pid,
      startedAt: start.toISOString(),
      versions: { dirql: dirqlVersion(), node: process.version, ...(qemu ? { qemu } : {}) },
      options: {},
    });
    dir.write();
    return dir;
  }

  /** The host options the run starts with, recorded in run.json. */
  started(options: DriverHostOptions): void {
    this.info.options = plainOptions(options);
    this.write();
  }

  /** The session is recorded to `plan.file`; with `onFailure`, finish() removes it when the run passed. */
  recordTo(plan: RecordingPlan): void {
    this.recording = plan;
  }

  /** The recording the run kept (after finish(): undefined when on-failure removed it or none was written). */
  get keptRecording(): string | undefined {
    const file = this.recording?.file;
    return file !== undefined && existsSync(file) ? file : undefined;
  }

  /** Record the exit and the files written; once (later calls are ignored). */
  finish(exit: RunExit): void {
    if (this.finished) return;
    this.finished = true;
    if (this.recording?.onFailure && exit.code === 0) rmSync(this.recording.file, { force: true });
    this.info.stoppedAt = new Date().toISOString();
    this.info.exit = exit;
    this.info.files = listFiles(this.path).filter((f) => f !== RUN_JSON);
    this.write();
  }

  get shown(): string {
    return shownPath(this.path);
  }

  private write(): void {
    writeFileSync(join(this.path, RUN_JSON), JSON.stringify(this.info, null, 2) + '\n');
  }
}

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
}
