import { mkdir } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import {
  InterruptLock,
  type Activation,
  type BugCheckReport,
  type InterruptLineSource,
  type Kernel,
  type KernelLock,
  type KernelObserver,
  type ObservedRoutineKind,
  type RoutineRecord,
} from '../kernel/index.ts';
import { writeHtmlTimeline } from './html.ts';
import { writePerfettoTrace, type PerfettoOptions } from './perfetto.ts';
import { LazyArgs, Timeline, TimelineError, type TimelineArgs } from './timeline.ts';

// Fills a Timeline from a running kernel (as its KernelObserver), the interrupt lines and the
// frames the host or a wire peer sees, and writes it out as a Perfetto trace and an HTML page.

/** Most events a recorder keeps by default (a held `dirql up` must not grow without bound; the HTML page stays usable). */
export const DEFAULT_RECORDER_LIMIT = 250_000;

export interface RunRecorderOptions {
  /** The timeline's name: the Perfetto process name and the HTML title. */
  readonly name?: string;
  /** Most events kept (Timeline's limit; later ones are counted in `dropped`). */
  readonly limit?: number;
  /** The interrupt lines whose edges go on the "IRQ lines" track (the machine's). */
  readonly lines?: InterruptLineSource;
  /** The clock, in ms (tests pass their own). */
  readonly now?: () => number;
}

/** The two files a recorder writes. */
export interface TimelineFiles {
  readonly perfetto: string;
  readonly html: string;
}

/** Something that reports frames it receives (a harness WirePeer). */
export interface FrameSource {
  onFrame(listener: (frame: Uint8Array) => void): () => void;
}

/** A slice open on a processor track: what to reopen it as when a slice under it ends first. */
interface OpenSlice {
  readonly key: object;
  readonly name: string;
  readonly category: string;
  readonly args: TimelineArgs;
}

const CATEGORY: Readonly<Record<ObservedRoutineKind, string>> = { isr: 'isr', dpc: 'dpc', synchronize: 'sync' };

/**
 * Records a run: per processor its ISRs, DPCs, synchronize callbacks and lock holds as slices, its
 * IRQL as a counter, register accesses as instants (name from the driver's register map, value);
 * the interrupt lines' edges; frames on the wire tracks; a bug check as an instant where it hit.
 *
 * Slices nest per processor. They do on Windows too at DISPATCH_LEVEL and above, but a lock released
 * out of order, or a passive-level interrupt lock held across a thread switch, would not: the slices
 * opened inside it are then ended and reopened ("continued"), so the trace stays well formed.
 */
export class RunRecorder implements KernelObserver {
  readonly timeline: Timeline;
  private readonly stacks: OpenSlice[][];
  /** Where each open slice's key was opened (a lock is released by its owner's processor, which may be another by then). */
  private readonly openOn = new Map<object, number>();
  private readonly lastIrql: Int16Array;
  private readonly linesTrack: number;
  private readonly detachers: (() => void)[] = [];
  private stopped = false;

  constructor(kernel: Kernel, opts: RunRecorderOptions = {}) {
    this.timeline = new Timeline({
      name: opts.name ?? 'dirql',
      processors: kernel.processorCount,
      limit: opts.limit ?? DEFAULT_RECORDER_LIMIT,
      ...(opts.now ? { now: opts.now } : {}),
    });
    this.stacks = kernel.processors.map(() => []);
    this.lastIrql = new Int16Array(kernel.processorCount).fill(-1);
    this.linesTrack = this.timeline.track('IRQ lines', 'lines');
    for (const P of kernel.processors) this.irqlChanged(P.index, P.irql);
    this.detachers.push(kernel.observe(this));
    if (opts.lines) this.detachers.push(opts.lines.onChange((line, asserted) => this.lineChanged(line, asserted)));
    const onStop = (r: BugCheckReport) => this.stopRecorded(r);
    kernel.on('bugcheck', onStop);
    kernel.on('device-lost', onStop);
    this.detachers.push(() => {
      kernel.off('bugcheck', onStop);
      kernel.off('device-lost', onStop);
    });
  }

  // ---------------------------------------------------------------- KernelObserver

  routineEntered(act: Activation, kind: ObservedRoutineKind, routine: RoutineRecord): void {
    this.open(act.processor.index, routine, routine.name, CATEGORY[kind], { irql: routine.irql, activation: act.name });
  }

  routineReturned(_act: Activation, routine: RoutineRecord): void {
    this.close(routine);
  }

  irqlChanged(processor: number, irql: number): void {
    if (this.lastIrql[processor] === irql) return;
    this.lastIrql[processor] = irql;
    this.timeline.counter(this.timeline.irqlTrack(processor), irql);
  }

  lockAcquired(act: Activation, lock: KernelLock): void {
    const kind = lock instanceof InterruptLock ? 'interrupt lock' : 'spin lock';
    this.open(act.processor.index, lock, lock.name, 'lock', { lock: kind, by: act.routine, irql: act.irql });
  }

  lockReleased(lock: KernelLock): void {
    this.close(lock);
  }

  registerAccessed(act: Activation, device: string, write: boolean, offset: number, value: number, register: string | undefined): void {
    this.timeline.instant(this.timeline.processorTrack(act.processor.index), register ?? `0x${offset.toString(16)}`, 'register', {
      access: write ? 'write' : 'read',
      value: value >>> 0,
      offset: `0x${offset.toString(16)}`,
      device,
      routine: act.routine,
    });
  }

  // ---------------------------------------------------------------- lines, wire, stops

  /** A level change of an interrupt line (level-triggered INTx: asserted until the cause is cleared). */
  lineChanged(line: number, asserted: boolean): void {
    this.timeline.instant(this.linesTrack, `line ${line} ${asserted ? 'asserted' : 'deasserted'}`, 'line', { line, level: asserted ? 1 : 0 });
  }

  /** A frame seen on the wire track `track` ("host rings", "wire peer"); `name` says which way it went. */
  frame(track: string, name: string, frame: Uint8Array, length = frame.length): void {
    this.timeline.instant(this.timeline.track(track, 'wire'), name, 'wire', new FrameArgs(frame, length));
  }

  /** Put the frames `peer` receives (what the driver sent) on the "wire peer" track. */
  watchPeer(peer: FrameSource): void {
    this.detachers.push(peer.onFrame((f) => this.frame('wire peer', 'peer received', f)));
  }

  private stopRecorded(r: BugCheckReport): void {
    this.timeline.instant(this.timeline.processorTrack(r.processor ?? 0), r.name, 'bugcheck', { code: `0x${r.code.toString(16)}`, message: r.message });
  }

  // ---------------------------------------------------------------- the end

  /** Detach from the kernel and the lines, close what is still open. Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const d of this.detachers.splice(0)) d();
    this.timeline.closeAll();
    this.openOn.clear();
    for (const s of this.stacks) s.length = 0;
  }

  /**
   * Stop, then write `<base>.perfetto-trace` and `<base>.html`. `path` is a directory (the files are
   * named `name` in it) or a file whose extension is dropped; directories are made as needed.
   */
  async write(path: string, name = this.timeline.name, perfetto: PerfettoOptions = {}): Promise<TimelineFiles> {
    this.stop();
    const base = timelineBase(path, name);
    await mkdir(dirname(base), { recursive: true });
    const files = { perfetto: `${base}.perfetto-trace`, html: `${base}.html` };
    await writePerfettoTrace(this.timeline, files.perfetto, perfetto);
    await writeHtmlTimeline(this.timeline, files.html);
    return files;
  }

  private open(processor: number, key: object, name: string, category: string, args: TimelineArgs): void {
    if (this.stopped || this.openOn.has(key)) return;
    this.stacks[processor]!.push({ key, name, category, args });
    this.openOn.set(key, processor);
    this.timeline.begin(this.timeline.processorTrack(processor), name, category, args);
  }

  private close(key: object): void {
    const processor = this.openOn.get(key);
    if (processor === undefined) return;
    this.openOn.delete(key);
    const stack = this.stacks[processor]!;
    const track = this.timeline.processorTrack(processor);
    const at = stack.findIndex((s) => s.key === key);
    if (at < 0) return;
    const above = stack.splice(at);
    above.shift();
    const ts = this.timeline.now();
    for (let i = 0; i <= above.length; i++) this.timeline.end(track, ts);
    for (const s of above) {
      stack.push(s);
      this.timeline.begin(track, s.name, s.category, { ...s.args, continued: true }, ts);
    }
  }
}

/** `<dir>/<name>` for a directory, the path without its extension for a file (`run.html`, `run.perfetto-trace`). */
export function timelineBase(path: string, name: string): string {
  if (name === '' || /[/\\]/.test(name)) throw new TimelineError(`a timeline file name must be a plain name, got ${JSON.stringify(name)}`, { name });
  const full = resolve(path);
  const ext = extname(full);
  if (ext === '.perfetto-trace' || ext === '.html') return join(dirname(full), basename(full, ext));
  return join(full, name);
}

/** A frame's args: a copy of its header (the frame's buffer is reused), formatted when the timeline is written. */
class FrameArgs extends LazyArgs {
  private readonly header: Uint8Array | undefined;

  constructor(
    frame: Uint8Array,
    private readonly length: number,
  ) {
    super();
    this.header = length >= 14 ? frame.slice(0, 14) : undefined;
  }

  resolve(): TimelineArgs {
    const h = this.header;
    if (h === undefined) return { length: this.length };
    return { length: this.length, dst: mac(h, 0), src: mac(h, 6), ethertype: `0x${((h[12]! << 8) | h[13]!).toString(16).padStart(4, '0')}` };
  }
}

function mac(b: Uint8Array, at: number): string {
  let s = '';
  for (let i = 0; i < 6; i++) s += (i ? ':' : '') + b[at + i]!.toString(16).padStart(2, '0');
  return s;
}
