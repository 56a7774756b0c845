import { join } from 'node:path';
import type { Kernel } from '../kernel/index.ts';
import type { Machine } from '../platform/machine.ts';
import { RunRecorder, type TimelineFiles } from '../timeline/index.ts';
import { DEFAULT_RUNS_DIR, runName } from '../util/run-name.ts';
import { DriverHostError } from './errors.ts';

/** DriverHostOptions.trace: where the run's timeline goes and what it is called. */
export interface HostTraceOptions {
  /** A directory (files named `name` in it) or a file (`run.html`: its extension is dropped). Default ./runs. */
  path?: string;
  /** The timeline's name and the files' (default `<framework>-<time>`). */
  name?: string;
  /** Most events kept (RunRecorder's default 250,000); later ones are counted as dropped. */
  limit?: number;
  /** The process id the Perfetto trace names (default this process's; a replay gives a fixed one, so its trace is the same every time). */
  pid?: number;
}

/** The recorder of a host started with `trace`, and where its files go. */
export class HostTrace {
  readonly recorder: RunRecorder;
  private readonly path: string;
  private readonly name: string;
  private readonly pid: number | undefined;

  constructor(kernel: Kernel, machine: Machine, framework: string, opts: true | HostTraceOptions) {
    const o = opts === true ? {} : opts;
    this.name = o.name ?? runName(framework);
    this.path = o.path ?? join(process.cwd(), DEFAULT_RUNS_DIR);
    this.pid = o.pid;
    // The kernel's clock: real time, or a replay's own (the same timeline every replay).
    const now = () => kernel.clock.now();
    this.recorder = new RunRecorder(kernel, { name: this.name, lines: machine.lines, now, ...(o.limit !== undefined ? { limit: o.limit } : {}) });
  }

  /** Stop recording and write `<name>.perfetto-trace` and `<name>.html`. */
  async write(): Promise<TimelineFiles> {
    try {
      return await this.recorder.write(this.path, this.name, this.pid !== undefined ? { pid: this.pid } : {});
    } catch (err) {
      throw new DriverHostError(`writing the run's timeline to ${this.path} failed: ${(err as Error).message}`, { path: this.path, name: this.name }, { cause: err });
    }
  }
}
