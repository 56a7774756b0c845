/**
 * `npm run bench`: every benchmark against real QEMU, each figure beside a baseline measured in
 * the same run. Prints a table and writes bench/results/bench-<date>.json (+ latest.json); a full
 * run (all sections, not --quick) also writes the chart of the kept runs and this run's table to
 * docs/bench/ (the README shows them). A run of some sections (--only) changes neither.
 *
 *   npm run bench                 all sections
 *   npm run bench -- --quick      shorter runs (smoke check)
 *   npm run bench -- --only mmio,ring,throughput,latency,lockset,trace,record,replay,control,explore
 *   npm run bench -- --quick --docs   also write docs/bench/ from a quick run (a full run always does)
 *   npm run bench:chart -- --out FILE   the chart of the kept runs
 *
 * Sections that care about cross-CPU wakeups run as child processes twice: unpinned, and pinned
 * with everything (host and its QEMU, which inherits the affinity) on CPU 0 via `taskset -c 0`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadHistory, loadRuns, mergeRuns, ratiosOf, renderChart } from './chart.ts';
import { markdownReport } from './markdown.ts';
import { round } from './stats.ts';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, docs: { type: 'boolean', default: false } } });
const quick = values.quick;
const only = values.only ? new Set(values.only.split(',')) : undefined;
const want = (s: string) => !only || only.has(s);

type Row = { section: string; measurement: string; unpinned?: string; pinned?: string; target?: string };
const rows: Row[] = [];
const results: Record<string, unknown> = {};

/** Runs a bench module as a child (optionally pinned to CPU 0) and parses the JSON it prints last. */
function child<T>(module: string, pinned: boolean, args: string[] = []): T {
  const cmd = pinned ? 'taskset' : process.execPath;
  const argv = [...(pinned ? ['-c', '0', process.execPath] : []), '--import', 'tsx', join(here, module), ...args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 240_000 });
  if (r.status !== 0) throw new Error(`${module}${pinned ? ' (pinned)' : ''} failed: exit ${r.status} ${r.signal ?? ''}`);
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last) as T;
}

function both<T>(module: string, args: string[] = []): { unpinned: T; pinned: T } {
  return { unpinned: child<T>(module, false, args), pinned: child<T>(module, true, args) };
}

const qemuVersion = (() => {
  try {
    return execFileSync('qemu-system-x86_64', ['--version'], { encoding: 'utf8' }).split('\n')[0];
  } catch {
    return 'unknown';
  }
})();

const started = Date.now();
// The machine may be shared: the load when the run began says how much the figures can be trusted.
const loadAtStart = loadavg().map((v) => round(v, 2));

if (want('mmio')) {
  type M = import('./mmio.ts').MmioResult;
  const m = both<M>('mmio.ts', quick ? ['--quick'] : []);
  results.mmio = m;
  const f = (us: number, ratio?: number) => `${us} µs${ratio !== undefined ? ` (${ratio}×)` : ''}`;
  rows.push({ section: 'MMIO readl', measurement: 'raw qtest client (baseline)', unpinned: f(m.unpinned.rawUs), pinned: f(m.pinned.rawUs) });
  rows.push({
    section: 'MMIO readl',
    measurement: 'QtestClient',
    unpinned: f(m.unpinned.qtestClientUs, m.unpinned.ratioClient),
    pinned: f(m.pinned.qtestClientUs, m.pinned.ratioClient),
  });
  rows.push({
    section: 'MMIO readl',
    measurement: 'driver host (kernel DeviceRegisters, PASSIVE routine)',
    unpinned: f(m.unpinned.driverHostUs, m.unpinned.ratioDriverHost),
    pinned: f(m.pinned.driverHostUs, m.pinned.ratioDriverHost),
    target: '≤ 1.05×',
  });
}

if (want('ring')) {
  // A child of its own like the other sections: in this process, after the MMIO section's sockets and
  // timers, the ring measured about a third slower than standalone.
  type R = import('./ring.ts').RingBenchReport;
  const r = both<R>('ring.ts', ['--json', ...(quick ? ['--quick'] : [])]);
  results.ring = r;
  const f = (x: R['results'][number] | undefined) =>
    x === undefined ? '' : `${round(x.framesPerSecond / 1e6, 2)} M frames/s${x.spreadPercent !== undefined ? ` (±${round(x.spreadPercent / 2, 1)} %)` : ''}`;
  for (const x of r.unpinned.results) {
    rows.push({
      section: 'ring',
      measurement: `${x.name}`,
      unpinned: f(x),
      pinned: f(r.pinned.results.find((p) => p.name === x.name)),
      ...(x.name === r.unpinned.results[0]?.name ? { target: '≥ 25 M/s (64 B, in process)' } : {}),
    });
  }
}

/** A failed section leaves a row saying so; the others still run, and the exit code reports it. */
const failures: string[] = [];
function section(name: string, run: () => void): void {
  if (!want(name)) return;
  try {
    run();
  } catch (err) {
    failures.push(name);
    rows.push({ section: name, measurement: `FAILED: ${(err as Error).message}` });
  }
}

const kfps = (fps: number) => `${(fps / 1000).toFixed(1)} k/s`;

section('throughput', () => {
  type T = import('./throughput.ts').ThroughputResult;
  const out: Record<string, { unpinned: T; pinned: T }> = {};
  results.throughput = out;
  for (const [dir, size] of [
    ['tx', 64],
    ['tx', 1514],
    ['rx', 64],
    ['rx', 1514],
  ] as const) {
    const t = both<T>('throughput.ts', ['--dir', dir, '--size', String(size), '--json', ...(quick ? ['--quick'] : [])]);
    out[`${dir}-${size}`] = t;
    const name = `${dir.toUpperCase()} ${size} B`;
    const lost = (s: T['raw']) => (s.valid ? '' : `INVALID, lost ${s.rounds.reduce((n, x) => n + x.loss.lost, s.warmup.lost)}: `);
    rows.push({
      section: name,
      measurement: 'raw NIC client, frames/s (baseline)',
      unpinned: lost(t.unpinned.raw) + kfps(t.unpinned.raw.framesPerSecond),
      pinned: lost(t.pinned.raw) + kfps(t.pinned.raw.framesPerSecond),
    });
    rows.push({
      section: name,
      measurement: `driver host (${t.unpinned.stack.framework}), frames/s`,
      unpinned: `${lost(t.unpinned.stack)}${kfps(t.unpinned.stack.framesPerSecond)} (${t.unpinned.ratio}×)`,
      pinned: `${lost(t.pinned.stack)}${kfps(t.pinned.stack.framesPerSecond)} (${t.pinned.ratio}×)`,
      target: '≥ 0.95×',
    });
    const cpu = (r: T) => `${r.raw.cpuUsPerFrame} / ${r.stack.cpuUsPerFrame} µs (${r.cpuRatio}×)`;
    rows.push({ section: name, measurement: 'CPU per frame, host process: raw / stack', unpinned: cpu(t.unpinned), pinned: cpu(t.pinned), target: '≤ 1.1×' });
  }
});

section('latency', () => {
  type L = import('./latency.ts').LatencyResult;
  type S = import('./latency.ts').StageSummary;
  const l = both<L>('latency.ts', ['--json', ...(quick ? ['--quick'] : [])]);
  results.latency = l;
  const f = (s: S) => (s.n === 0 ? 'no samples (not traced?)' : `${Math.round(s.p50)} / ${Math.round(s.p99)} / ${Math.round(s.max)} µs`);
  const stage = (measurement: string, pick: (r: L) => S, target?: string) =>
    rows.push({ section: 'RX latency', measurement, unpinned: f(pick(l.unpinned)), pinned: f(pick(l.pinned)), ...(target ? { target } : {}) });
  stage('raw: peer send → IRQ raise seen (p50/p99/max)', (r) => r.raw.irq);
  stage('raw: → ICR read', (r) => r.raw.icr);
  stage('raw: → frame harvested (baseline)', (r) => r.raw.harvested);
  stage(`driver host (${l.unpinned.stack.framework}): peer send → IRQ raise seen`, (r) => r.stack.irq);
  stage('driver host: → ISR entry', (r) => r.stack.isr);
  stage('driver host: → DPC entry', (r) => r.stack.dpc);
  stage('driver host: → frame delivered above the upper edge', (r) => r.stack.delivered);
  rows.push({
    section: 'RX latency',
    measurement: 'delivered / harvested at p50 (p99)',
    unpinned: `${l.unpinned.ratioP50}× (${l.unpinned.ratioP99}×)`,
    pinned: `${l.pinned.ratioP50}× (${l.pinned.ratioP99}×)`,
    target: 'p50 ≤ 1.25× (p99 ≤ 1.5×)',
  });
});

/**
 * The cost of a host feature on the data path: a host with it on against one with it off, in the
 * same run (bench/features.ts). `record` is a session recording (src/record); its replay speed is
 * the 'replay' section below (bench/replay.ts).
 */
const FEATURE_SECTIONS: readonly { section: string; feature: import('./features.ts').FeatureName; label: string; target?: string }[] = [
  { section: 'lockset', feature: 'lockset', label: "lockset verifier 'record' / off" },
  { section: 'trace', feature: 'trace', label: 'tracing (timeline) on / off' },
  { section: 'record', feature: 'record', label: 'recording (src/record) on / off', target: '≥ 0.90× (cost ≤ 10 %)' },
];

section('replay', () => {
  type S = import('./replay.ts').ReplayBenchResult;
  const r = both<S>('replay.ts', ['--only', 'speed', '--json']);
  results.replay = r;
  const s = (x: S) => x.speed!;
  rows.push({
    section: 'replay',
    measurement: `${s(r.unpinned).frames}-frame NDIS 6 session: recorded / REPLAY ms`,
    unpinned: `${s(r.unpinned).recordedMs} / ${s(r.unpinned).replayMs} ms`,
    pinned: `${s(r.pinned).recordedMs} / ${s(r.pinned).replayMs} ms`,
  });
  rows.push({
    section: 'replay',
    measurement: 'REPLAY speed, × the recorded session',
    unpinned: `${s(r.unpinned).speedup}×`,
    pinned: `${s(r.pinned).speedup}×`,
    target: '≥ 5×',
  });
  rows.push({ section: 'replay', measurement: 'recording size', unpinned: `${s(r.unpinned).fileMB} MB`, pinned: `${s(r.pinned).fileMB} MB` });
});

for (const f of FEATURE_SECTIONS) {
  section(f.section, () => {
    type F = import('./features.ts').FeatureCostResult;
    const out: Record<string, { unpinned: F; pinned: F }> = {};
    results[f.section] = out;
    for (const dir of ['tx', 'rx'] as const) {
      const r = both<F>('features.ts', ['--feature', f.feature, '--dir', dir, '--size', '64', '--json', ...(quick ? ['--quick'] : [])]);
      out[`${dir}-64`] = r;
      const cell = (x: F) => `${x.valid ? '' : 'INVALID (frames lost): '}${kfps(x.on.framesPerSecond)} (${x.ratio}×)`;
      rows.push({
        section: `${f.section} ${dir.toUpperCase()} 64 B`,
        measurement: `${f.label}, frames/s`,
        unpinned: cell(r.unpinned),
        pinned: cell(r.pinned),
        ...(f.target ? { target: f.target } : {}),
      });
      const cpu = (x: F) => `${x.off.cpuUsPerFrame} / ${x.on.cpuUsPerFrame} µs (${x.cpuRatio}×)`;
      rows.push({ section: `${f.section} ${dir.toUpperCase()} 64 B`, measurement: 'CPU per frame, host process: off / on', unpinned: cpu(r.unpinned), pinned: cpu(r.pinned) });
    }
  });
}

section('control', () => {
  type C = import('./control.ts').ControlBenchResult;
  const c = both<C>('control.ts', quick ? ['--quick'] : []);
  results.control = c;
  rows.push({
    section: 'control plane',
    measurement: '`status` round trip, one at a time (p50 / p99)',
    unpinned: `${c.unpinned.p50Us} / ${c.unpinned.p99Us} µs`,
    pinned: `${c.pinned.p50Us} / ${c.pinned.p99Us} µs`,
  });
  rows.push({ section: 'control plane', measurement: 'calls/s, one at a time', unpinned: String(c.unpinned.callsPerSecond), pinned: String(c.pinned.callsPerSecond) });
  rows.push({
    section: 'control plane',
    measurement: `calls/s, ${c.unpinned.inflight} in flight`,
    unpinned: String(c.unpinned.pipelinedCallsPerSecond),
    pinned: String(c.pinned.pipelinedCallsPerSecond),
  });
});

section('explore', () => {
  type E = import('./explore.ts').ExploreBenchResult;
  const e = both<E>('explore.ts', quick ? ['--quick'] : []);
  results.explore = e;
  e.unpinned.forEach((u, i) => {
    const p = e.pinned[i]!;
    const what = `${u.scenario}, ${u.strategy}, ${u.processors} CPU, runs/s${u.failures > 0 ? ` (${u.failures}/${u.runs} fail)` : ''}`;
    if (u.device === 'qemu-e1000') {
      rows.push({
        section: 'explore (QEMU)',
        measurement: `explore against QEMU, ${u.scenario}, runs/s${u.failures > 0 ? ` (${u.failures}/${u.runs} fail)` : ''}`,
        unpinned: String(u.runsPerSecond),
        pinned: String(p.runsPerSecond),
        target: '>= 10 runs/s',
      });
      return;
    }
    rows.push({
      section: 'explore (kernel)',
      measurement: what,
      unpinned: String(u.runsPerSecond),
      pinned: String(p.runsPerSecond),
      ...(u.processors === 1 && u.strategy === 'random' && u.failures === 0 ? { target: '>= 500 runs/s' } : {}),
    });
  });
});

const report = {
  date: new Date(started).toISOString(),
  durationS: round((Date.now() - started) / 1000, 1),
  machine: { cpu: cpus()[0]?.model, cpus: cpus().length, memoryGiB: round(totalmem() / 2 ** 30, 1), loadAverageAtStart: loadAtStart },
  node: process.version,
  qemu: qemuVersion,
  quick,
  ...(only ? { only: [...only] } : {}),
  results,
};

const w = [16, 56, 24, 24, 28];
const line = (c: string[]) =>
  c
    .map((s, i) => s.padEnd(w[i]!))
    .join(' ')
    .trimEnd();
console.log(line(['section', 'measurement', 'unpinned', 'pinned (CPU 0)', 'target']));
console.log(line(w.map((n) => '-'.repeat(n - 1))));
for (const r of rows) console.log(line([r.section, r.measurement, r.unpinned ?? '', r.pinned ?? '', r.target ?? '']));

const outDir = join(here, 'results');
mkdirSync(outDir, { recursive: true });
const stamp = report.date.replace(/[:.]/g, '-');
writeFileSync(join(outDir, `bench-${stamp}.json`), JSON.stringify(report, null, 2));
writeFileSync(join(outDir, 'latest.json'), JSON.stringify(report, null, 2));
const written = [`bench/results/bench-${stamp}.json`];
// A run of some sections (--only) is kept as a file but is neither a point of the chart nor the docs' table.
const full = !quick && only === undefined;
if (full) {
  writeFileSync(join(outDir, 'chart.svg'), renderChart(loadRuns(outDir)));
  written.push('bench/results/chart.svg (every full run kept there)');
}
// bench/results is not committed: a full run (or --docs) also leaves its table and the chart in docs/bench for the README.
if (full || values.docs) {
  const docs = join(here, '..', 'docs', 'bench');
  mkdirSync(docs, { recursive: true });
  writeFileSync(join(docs, 'latest.md'), markdownReport(report, rows));
  const historyFile = join(docs, 'history.json');
  const history = mergeRuns(loadHistory(historyFile), loadRuns(outDir));
  if (full) writeFileSync(historyFile, JSON.stringify(history, null, 1) + '\n');
  // A quick run is not kept in the chart's history; drawn here it is the chart's last point.
  writeFileSync(join(docs, 'chart.svg'), renderChart([...history, ...(full ? [] : [ratiosOf(report)])]));
  written.push(`docs/bench/latest.md, docs/bench/chart.svg and${full ? '' : ' not'} docs/bench/history.json`);
}
console.log(`\nwrote ${written.join(', ')} (${report.durationS} s)`);
console.log(`load average at start: ${loadAtStart.join(', ')} (${cpus().length} CPUs)`);
if (failures.length > 0) {
  console.error(`failed sections: ${failures.join(', ')}`);
  process.exitCode = 1;
}
