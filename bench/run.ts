/**
 * `npm run bench`: every benchmark against real QEMU, each figure beside a baseline measured in
 * the same run. Prints a table and writes bench/results/bench-<date>.json (+ latest.json).
 *
 *   npm run bench                 all sections
 *   npm run bench -- --quick      shorter runs (smoke check)
 *   npm run bench -- --only mmio,ring,throughput,latency,explore
 *   npm run bench:chart -- --out docs/bench-chart.svg   the chart of the kept runs, for the README
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
import { loadRuns, renderChart } from './chart.ts';
import { runRingBench } from './ring.ts';
import { round } from './stats.ts';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string' } } });
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
  const r = await runRingBench({ quick });
  results.ring = r;
  for (const x of r.results) {
    rows.push({
      section: 'ring',
      measurement: `${x.name}`,
      unpinned: `${round(x.framesPerSecond / 1e6, 2)} M frames/s`,
      ...(x.name === r.results[0]?.name ? { target: '≥ 25 M/s (64 B, in process)' } : {}),
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
    rows.push({ section: name, measurement: 'CPU per frame, host process: raw / stack', unpinned: cpu(t.unpinned), pinned: cpu(t.pinned) });
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
if (!quick) writeFileSync(join(outDir, 'chart.svg'), renderChart(loadRuns(outDir)));
console.log(`\nwrote bench/results/bench-${stamp}.json (${report.durationS} s)${quick ? '' : ' and bench/results/chart.svg (every full run kept there)'}`);
console.log(`load average at start: ${loadAtStart.join(', ')} (${cpus().length} CPUs)`);
if (failures.length > 0) {
  console.error(`failed sections: ${failures.join(', ')}`);
  process.exitCode = 1;
}
