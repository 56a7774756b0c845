/**
 * Runs/s of the interleaving explorer on the kernel model alone (no QEMU): the race sample of
 * test/fixtures/broken (a PASSIVE send path, an interrupt its device raises meanwhile, its ISR and
 * DPC, the lockset verifier in stop mode), fixed and broken, on one and two processors. Each run
 * is a fresh kernel and driver bring-up. Target: >= 500 runs/s on one processor (dirql issue 11).
 * Then against QEMU's e1000 (one QEMU, system_reset between runs): the NDIS 6 e1000 miniport
 * brought up, 4 frames sent to a wire peer, halted. Target: >= 10 runs/s.
 *
 * The broken sample's runs are expected to fail: each is a bug check, which the kernel logs at
 * error level. They run in a child process of this file (--broken-only) with DIRQL_LOG=silent, so
 * `npm run bench` does not flood stderr with them; every other run logs as usual.
 *
 *   node --import tsx bench/explore.ts [--runs 2000] [--quick]
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { explore } from '../src/explore/index.ts';
import { e1000Frames } from '../test/fixtures/broken/e1000-scenario.ts';
import { sampleScenario } from '../test/fixtures/broken/scenarios.ts';
import { EXPLORE_SAMPLES } from '../test/fixtures/broken/samples-explore.ts';
import { round } from './stats.ts';

export interface ExploreBenchRow {
  readonly scenario: string;
  /** Where it ran: the kernel model's fake device, or QEMU's e1000. */
  readonly device: 'kernel' | 'qemu-e1000';
  readonly strategy: string;
  readonly processors: number;
  readonly runs: number;
  readonly failures: number;
  readonly distinct: number;
  readonly runsPerSecond: number;
}
export type ExploreBenchResult = readonly ExploreBenchRow[];

const race = EXPLORE_SAMPLES.find((s) => s.id === 'race')!;

interface KernelCase {
  readonly name: string;
  readonly make: typeof race.fixed;
  readonly processors: number;
  readonly strategy: 'random' | 'pct';
}

const BROKEN: KernelCase = { name: 'race (broken)', make: race.broken, processors: 1, strategy: 'random' };

/** Warm up the JIT on the scenario first: the figure is the explorer's steady state. */
async function warmUp(): Promise<void> {
  await explore(sampleScenario('warm-up', race.fixed), { runs: 200 });
}

/** One case on the kernel model. */
async function kernelRow(c: KernelCase, runs: number): Promise<ExploreBenchRow> {
  const r = await explore(sampleScenario(c.name, c.make, { processors: c.processors }), { strategy: c.strategy, runs });
  return {
    scenario: c.name,
    device: 'kernel',
    strategy: c.strategy,
    processors: c.processors,
    runs: r.runs,
    failures: r.failures.length,
    distinct: r.distinct,
    runsPerSecond: round(r.runsPerSecond, 0),
  };
}

/** The broken case in a child of this file with the logger silent (its pinning is inherited). */
function brokenRowSilently(runs: number): ExploreBenchRow {
  const out = execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--broken-only', '--runs', String(runs)], {
    env: { ...process.env, DIRQL_LOG: 'silent' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out.trim().split('\n').pop()!) as ExploreBenchRow;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string' }, quick: { type: 'boolean', default: false }, 'broken-only': { type: 'boolean', default: false } } });
  const runs = Number(values.runs ?? (values.quick ? 500 : 2000));
  if (values['broken-only']) {
    await warmUp();
    console.log(JSON.stringify(await kernelRow(BROKEN, runs)));
    return;
  }
  const cases: readonly KernelCase[] = [
    { name: 'race fixed', make: race.fixed, processors: 1, strategy: 'random' },
    { name: 'race fixed', make: race.fixed, processors: 1, strategy: 'pct' },
    BROKEN,
    { name: 'race fixed', make: race.fixed, processors: 2, strategy: 'random' },
  ];
  await warmUp(); // the broken case's child warms up its own
  const rows: ExploreBenchRow[] = [];
  for (const c of cases) rows.push(c === BROKEN ? brokenRowSilently(runs) : await kernelRow(c, runs));
  const qemuRuns = values.quick ? 30 : 100;
  const q = await explore(e1000Frames, { runs: qemuRuns });
  rows.push({
    scenario: 'e1000 up, 4 sent, halt',
    device: 'qemu-e1000',
    strategy: 'random',
    processors: 1,
    runs: q.runs,
    failures: q.failures.length,
    distinct: q.distinct,
    runsPerSecond: round(q.runsPerSecond, 1),
  });
  console.log(JSON.stringify(rows));
}

await main();
