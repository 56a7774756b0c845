/**
 * Runs/s of the interleaving explorer on the kernel model alone (no QEMU): the race sample of
 * test/fixtures/broken (a PASSIVE send path, an interrupt its device raises meanwhile, its ISR and
 * DPC, the lockset verifier in stop mode), fixed and broken, on one and two processors. Each run
 * is a fresh kernel and driver bring-up. Target: >= 500 runs/s on one processor (dirql issue 11).
 * Then against QEMU's e1000 (one QEMU, system_reset between runs): the NDIS 6 e1000 miniport
 * brought up, 4 frames sent to a wire peer, halted. Target: >= 10 runs/s.
 *
 *   node --import tsx bench/explore.ts [--runs 2000] [--quick]
 */
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

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string' }, quick: { type: 'boolean', default: false } } });
  const runs = Number(values.runs ?? (values.quick ? 500 : 2000));
  const race = EXPLORE_SAMPLES.find((s) => s.id === 'race')!;
  const cases = [
    { name: 'race fixed', make: race.fixed, processors: 1, strategy: 'random' as const },
    { name: 'race fixed', make: race.fixed, processors: 1, strategy: 'pct' as const },
    { name: 'race (broken)', make: race.broken, processors: 1, strategy: 'random' as const },
    { name: 'race fixed', make: race.fixed, processors: 2, strategy: 'random' as const },
  ];
  // Warm up the JIT on the scenario first: the figure is the explorer's steady state.
  await explore(sampleScenario('warm-up', race.fixed), { runs: 200 });
  const rows: ExploreBenchRow[] = [];
  for (const c of cases) {
    const r = await explore(sampleScenario(c.name, c.make, { processors: c.processors }), { strategy: c.strategy, runs });
    rows.push({
      scenario: c.name,
      device: 'kernel',
      strategy: c.strategy,
      processors: c.processors,
      runs: r.runs,
      failures: r.failures.length,
      distinct: r.distinct,
      runsPerSecond: round(r.runsPerSecond, 0),
    });
  }
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
