/**
 * Packet-ring micro-benchmark: frames/s in process (copy in and out, batched and per frame) and
 * across a worker thread in both directions, with CPU time and heap allocated per frame.
 *
 *   npx tsx bench/ring.ts            table on stdout
 *   npx tsx bench/ring.ts --json     the results as JSON
 *   npx tsx bench/ring.ts --quick    shorter runs (smoke check)
 *
 * bench/run.ts calls runRingBench() and prints/writes what it returns.
 */
import { GCProfiler, getHeapStatistics } from 'node:v8';
import { availableParallelism, cpus } from 'node:os';
import { pathToFileURL } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { PacketRing } from '../src/ring/index.ts';
import { startTsWorker } from '../src/ring/ts-worker.ts';
import { waitWordAsync } from '../src/ring/wait.ts';
import type { RingWorkerReport } from './ring-worker.ts';

export interface RingBenchOptions {
  /** Shorter runs, for a smoke check (default false). */
  quick?: boolean;
}

export interface RingBenchResult {
  name: string;
  mode: 'in-process' | 'worker';
  api: string;
  frameBytes: number;
  batch: number;
  slotCount: number;
  frames: number;
  seconds: number;
  framesPerSecond: number;
  gbitPerSecond: number;
  /** CPU time of the whole process (all threads) over wall time, in percent. */
  cpuPercent: number;
  /** Heap allocated per frame on the measuring thread (main), from V8's used-heap deltas across GCs. */
  heapBytesPerFrame: number;
  /** Same, on the worker thread (worker runs only). */
  workerHeapBytesPerFrame?: number;
  gcs: number;
  fullRejects: number;
  emptyPolls: number;
  dropped: number;
  /** Times a side went to sleep on the other's position word (worker runs). */
  sleeps?: number;
  /** Frames/s asked of the ring for this case, if any. */
  target?: number;
  /** In-process cases: frames/s of each round (framesPerSecond is their median, lower of the middle two). */
  roundsFramesPerSecond?: number[];
  /** (fastest − slowest round) / median, in percent: how steady the figure is within the run. */
  spreadPercent?: number;
}

export interface RingBenchReport {
  benchmark: 'ring';
  node: string;
  cpu: string;
  cpus: number;
  results: RingBenchResult[];
}

/**
 * Heap allocated between start() and stop(), GCs included: the sum of used-heap growth between
 * consecutive GCs (V8's GCProfiler records used size before and after each one, synchronously).
 */
export class HeapProbe {
  private constructor(
    private readonly profiler: GCProfiler,
    private readonly usedAtStart: number,
  ) {}

  static start(): HeapProbe {
    const profiler = new GCProfiler();
    profiler.start();
    return new HeapProbe(profiler, getHeapStatistics().used_heap_size);
  }

  stop(frames: number): { heapBytesPerFrame: number; gcs: number } {
    const usedAtEnd = getHeapStatistics().used_heap_size;
    const { statistics } = this.profiler.stop();
    let allocated = 0;
    let previous = this.usedAtStart;
    for (const gc of statistics) {
      allocated += gc.beforeGC.heapStatistics.usedHeapSize - previous;
      previous = gc.afterGC.heapStatistics.usedHeapSize;
    }
    allocated += usedAtEnd - previous;
    return { heapBytesPerFrame: frames > 0 ? Math.max(0, allocated) / frames : 0, gcs: statistics.length };
  }
}

// The performance issue's target (dirql issue 15).
const IN_PROCESS_TARGET_64B = 25_000_000;

function makeFrames(count: number, bytes: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => new Uint8Array(bytes).fill((i * 7 + 1) & 0xff));
}

interface Measured {
  frames: number;
  seconds: number;
  cpuMicros: number;
  heap: { heapBytesPerFrame: number; gcs: number };
  /** Frames/s of each measured round, in order. */
  roundRates: number[];
}

/**
 * Run `step` (returns frames moved) for `rounds` rounds of `durationMs` each, after a warm-up; the
 * figure is the median round, so one round the scheduler preempted does not set it.
 */
function timeLoop(step: () => number, durationMs: number, rounds = 1): Measured {
  const warmUntil = performance.now() + Math.min(200, durationMs / 4);
  while (performance.now() < warmUntil) for (let i = 0; i < 256; i++) step();
  const cpu0 = process.cpuUsage();
  const probe = HeapProbe.start();
  const t0 = performance.now();
  const roundRates: number[] = [];
  let frames = 0;
  let now = t0;
  for (let r = 0; r < rounds; r++) {
    const start = now;
    const until = start + durationMs;
    let moved = 0;
    while (now < until) {
      for (let i = 0; i < 1024; i++) moved += step();
      now = performance.now();
    }
    frames += moved;
    roundRates.push((moved * 1000) / (now - start));
  }
  const heap = probe.stop(frames);
  const cpu = process.cpuUsage(cpu0);
  return { frames, seconds: (now - t0) / 1000, cpuMicros: cpu.user + cpu.system, heap, roundRates };
}

function result(
  base: Pick<RingBenchResult, 'name' | 'mode' | 'api' | 'frameBytes' | 'batch' | 'slotCount'> & { target?: number },
  measured: Measured,
  ring: PacketRing,
  extra: Partial<RingBenchResult> = {},
): RingBenchResult {
  const stats = ring.stats();
  const rates = [...measured.roundRates].sort((a, b) => a - b);
  const framesPerSecond = rates.length > 0 ? rates[(rates.length - 1) >> 1]! : measured.frames / measured.seconds;
  return {
    ...base,
    frames: measured.frames,
    seconds: round(measured.seconds, 3),
    framesPerSecond: Math.round(framesPerSecond),
    gbitPerSecond: round((framesPerSecond * base.frameBytes * 8) / 1e9, 2),
    cpuPercent: Math.round(measured.cpuMicros / 1e4 / measured.seconds),
    heapBytesPerFrame: round(measured.heap.heapBytesPerFrame, 3),
    gcs: measured.heap.gcs,
    fullRejects: stats.fullRejects,
    emptyPolls: stats.emptyPolls,
    dropped: stats.dropped,
    ...(rates.length > 1 ? { roundsFramesPerSecond: measured.roundRates.map(Math.round), spreadPercent: round(((rates.at(-1)! - rates[0]!) * 100) / framesPerSecond, 1) } : {}),
    ...extra,
  };
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Producer and consumer on one thread: enqueueBatch (copy in) then dequeueBatchInto (copy out). */
function inProcessBatch(frameBytes: number, batch: number, durationMs: number, rounds: number, target?: number): RingBenchResult {
  const slotCount = 1024;
  const ring = new PacketRing({ slotCount });
  const producer = ring.producer();
  const consumer = ring.consumer();
  const frames = makeFrames(batch, frameBytes);
  const out = new Uint8Array(batch * ring.slotSize);
  const lengths = new Uint32Array(batch);
  const measured = timeLoop(
    () => {
      producer.enqueueBatch(frames, batch);
      return consumer.dequeueBatchInto(out, ring.slotSize, lengths, batch);
    },
    durationMs,
    rounds,
  );
  return result(
    {
      name: `in-process ${frameBytes} B, batch ${batch}, copy in+out`,
      mode: 'in-process',
      api: 'enqueueBatch + dequeueBatchInto',
      frameBytes,
      batch,
      slotCount,
      ...(target === undefined ? {} : { target }),
    },
    measured,
    ring,
  );
}

/** One frame per call on both sides: a publish (tail store) and a release (head store) per frame. */
function inProcessSingle(frameBytes: number, durationMs: number, rounds: number): RingBenchResult {
  const slotCount = 1024;
  const ring = new PacketRing({ slotCount });
  const producer = ring.producer();
  const consumer = ring.consumer();
  const frame = makeFrames(1, frameBytes)[0]!;
  const out = new Uint8Array(ring.slotSize);
  const measured = timeLoop(
    () => {
      producer.tryEnqueue(frame);
      return consumer.tryDequeue(out) >= 0 ? 1 : 0;
    },
    durationMs,
    rounds,
  );
  return result(
    {
      name: `in-process ${frameBytes} B, per frame, copy in+out`,
      mode: 'in-process',
      api: 'tryEnqueue + tryDequeue',
      frameBytes,
      batch: 1,
      slotCount,
    },
    measured,
    ring,
  );
}

/** Zero-copy both ways: claim/publish writing a 4-byte sequence number, peek/release reading it. */
function inProcessZeroCopy(batch: number, durationMs: number, rounds: number): RingBenchResult {
  const slotCount = 1024;
  const ring = new PacketRing({ slotCount });
  const producer = ring.producer();
  const consumer = ring.consumer();
  let seq = 0;
  let checksum = 0;
  const measured = timeLoop(
    () => {
      const claim = producer.claim(batch);
      // Kept int32 (| 0): a closure variable holding a double is boxed, i.e. allocated per update.
      for (let i = 0; i < claim.count; i++) ring.slotView(claim.first + i)[0] = seq = (seq + 1) | 0;
      producer.publish(claim.count, 64);
      const run = consumer.peek(batch);
      for (let i = 0; i < run.count; i++) checksum = (checksum + ring.slotView(run.first + i)[0]!) | 0;
      consumer.release(run.count);
      return run.count;
    },
    durationMs,
    rounds,
  );
  if (checksum === 0.5) throw new Error('unreachable: keeps the reads alive');
  return result(
    {
      name: `in-process 64 B, batch ${batch}, zero-copy`,
      mode: 'in-process',
      api: 'claim/publish + peek/release',
      frameBytes: 64,
      batch,
      slotCount,
    },
    measured,
    ring,
  );
}

/**
 * One side on the main thread, the other in a worker, frames copied in and out, each side
 * spinning briefly then sleeping on Atomics (wait in the worker, waitAsync on main).
 */
async function acrossWorker(mainRole: 'produce' | 'consume', frameBytes: number, batch: number, frames: number): Promise<RingBenchResult> {
  const slotCount = 1024;
  const ring = new PacketRing({ slotCount });
  const control = new Int32Array(new SharedArrayBuffer(8));
  const workerRole = mainRole === 'produce' ? 'consume' : 'produce';
  const worker = startTsWorker(new URL('./ring-worker.ts', import.meta.url), {
    workerData: { sab: ring.buffer, control: control.buffer, role: workerRole, frames, frameBytes, batch },
  });
  const report = new Promise<RingWorkerReport>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`ring worker exited (${code}) before reporting`)));
  });
  report.catch(() => {});
  try {
    const readyBy = performance.now() + 30_000;
    while (Atomics.load(control, 1) === 0) {
      if (performance.now() > readyBy) throw new Error('ring worker did not attach within 30 s');
      await waitWordAsync(control, 1, 0, 1_000);
    }
    const moveFrames = mainRole === 'produce' ? mainProducer(ring, frameBytes, batch, frames) : mainConsumer(ring, batch, frames);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    Atomics.store(control, 0, 1);
    Atomics.notify(control, 0);
    const main = await moveFrames;
    const workerReport = await report;
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    if (workerReport.frames !== frames || main.frames !== frames) {
      throw new Error(`frames lost across the worker: main ${main.frames}, worker ${workerReport.frames}, sent ${frames}`);
    }
    return result(
      {
        name: `worker ${mainRole === 'produce' ? 'main→worker' : 'worker→main'} ${frameBytes} B, batch ${batch}, copy in+out`,
        mode: 'worker',
        api: 'enqueueBatch + dequeueBatchInto',
        frameBytes,
        batch,
        slotCount,
      },
      { frames, seconds, cpuMicros: cpu.user + cpu.system, heap: main.heap, roundRates: [] },
      ring,
      { workerHeapBytesPerFrame: round(workerReport.heapBytesPerFrame ?? 0, 3), sleeps: main.sleeps + workerReport.sleeps },
    );
  } finally {
    await worker.terminate();
  }
}

interface MainSide {
  frames: number;
  sleeps: number;
  heap: { heapBytesPerFrame: number; gcs: number };
}

/**
 * Polls of an empty (or full) ring before a side sleeps on the other's position word: roughly
 * 100 µs here. Counted, not timed: performance.now() allocates a HeapNumber per call on Node 20.
 */
export const SPIN_POLLS_BEFORE_SLEEP = 2000;

async function mainProducer(ring: PacketRing, frameBytes: number, batch: number, total: number): Promise<MainSide> {
  const producer = ring.producer();
  const frames = makeFrames(batch, frameBytes);
  let sent = 0;
  let spins = 0;
  let sleeps = 0;
  const probe = HeapProbe.start();
  while (sent < total) {
    const wanted = Math.min(batch, total - sent);
    // Offer only what fits (see ring-worker.ts).
    if (producer.free() >= wanted) {
      sent += producer.enqueueBatch(frames, wanted);
      spins = 0;
    } else if (++spins > SPIN_POLLS_BEFORE_SLEEP) {
      await producer.waitForSpace(1_000, ring.slotCount / 2);
      sleeps++;
      spins = 0;
    }
  }
  const heap = probe.stop(sent);
  producer.close();
  return { frames: sent, sleeps, heap };
}

async function mainConsumer(ring: PacketRing, batch: number, total: number): Promise<MainSide> {
  const consumer = ring.consumer();
  const out = new Uint8Array(batch * ring.slotSize);
  const lengths = new Uint32Array(batch);
  let received = 0;
  let spins = 0;
  let sleeps = 0;
  const probe = HeapProbe.start();
  while (received < total) {
    const n = consumer.dequeueBatchInto(out, ring.slotSize, lengths, batch);
    received += n;
    if (n > 0) {
      spins = 0;
    } else if (++spins > SPIN_POLLS_BEFORE_SLEEP) {
      await consumer.waitForData(1_000, Math.min(batch, total - received));
      sleeps++;
      spins = 0;
    }
  }
  const heap = probe.stop(received);
  consumer.close();
  return { frames: received, sleeps, heap };
}

export async function runRingBench(options: RingBenchOptions = {}): Promise<RingBenchReport> {
  // Seven rounds per in-process case (three with --quick), the median reported with the spread.
  const rounds = options.quick ? 3 : 7;
  const ms = options.quick ? 100 : 250;
  const workerFrames64 = options.quick ? 1_000_000 : 10_000_000;
  const workerFrames1514 = options.quick ? 250_000 : 2_000_000;
  const results: RingBenchResult[] = [
    inProcessBatch(64, 64, ms, rounds, IN_PROCESS_TARGET_64B),
    inProcessBatch(64, 256, ms, rounds),
    inProcessBatch(1514, 64, ms, rounds),
    inProcessSingle(64, ms, rounds),
    inProcessSingle(1514, ms, rounds),
    inProcessZeroCopy(64, ms, rounds),
    await acrossWorker('produce', 64, 64, workerFrames64),
    await acrossWorker('consume', 64, 64, workerFrames64),
    await acrossWorker('produce', 1514, 64, workerFrames1514),
    await acrossWorker('consume', 1514, 64, workerFrames1514),
  ];
  return {
    benchmark: 'ring',
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cpus: availableParallelism(),
    results,
  };
}

function printTable(report: RingBenchReport): void {
  const rows = report.results.map((r) => ({
    case: r.name,
    'Mframes/s': (r.framesPerSecond / 1e6).toFixed(2),
    'spread %': r.spreadPercent ?? '',
    'Gbit/s': r.gbitPerSecond.toFixed(1),
    'CPU %': r.cpuPercent,
    'heap B/frame': r.workerHeapBytesPerFrame === undefined ? `${r.heapBytesPerFrame}` : `${r.heapBytesPerFrame} / ${r.workerHeapBytesPerFrame}`,
    GCs: r.gcs,
    fullRejects: r.fullRejects,
    sleeps: r.sleeps ?? '',
    target: r.target === undefined ? '' : `${r.target / 1e6} M ${r.framesPerSecond >= r.target ? 'met' : 'MISSED'}`,
  }));
  console.log(`ring benchmark — Node ${report.node}, ${report.cpus} CPUs (${report.cpu})`);
  console.table(rows);
  console.log('heap B/frame: main thread (/ worker thread); dropped frames in every case: ' + report.results.reduce((sum, r) => sum + r.dropped, 0));
}

const invokedDirectly = isMainThread && process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const report = await runRingBench({ quick: process.argv.includes('--quick') });
  // One line: bench/run.ts reads the last line of a child's output.
  if (process.argv.includes('--json')) console.log(JSON.stringify(report));
  else printTable(report);
}
