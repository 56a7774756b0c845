import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_RUNS_DIR, runName } from '../util/run-name.ts';
import { conventions, EXIT_FAILED, EXIT_OK, integer, UsageError } from './usage.ts';

interface ExploreFlags {
  runs: number;
  strategy: 'random' | 'pct' | 'pb';
  depth: number;
  seed: number;
  replay?: string;
  shard?: string;
  json?: string;
  junit?: string;
  out?: string;
  merge?: string[];
  record?: boolean;
}

/**
 * `dirql explore <scenario>`: the interleaving explorer over an explore scenario (a module run on
 * the kernel model, src/explore/scenario.ts). Exit 1 when a run failed.
 */
export function exploreCommand(): Command {
  const cmd = conventions(new Command('explore'), 'dirql explore')
    .description(
      'run an explore scenario many times, each with other scheduling decisions (when interrupts are delivered, who runs next); report failures with a replayable seed and schedule',
    )
    .argument('[scenario]', 'the scenario module, or module#export (e.g. test/fixtures/broken/scenarios.ts#race)')
    .option('--runs <n>', 'runs of the whole search (a shard runs its share)', integer(1, 100_000_000), 1000)
    .addOption(
      new Option('--strategy <name>', 'random, pct (probabilistic concurrency testing) or pb (preemption-bounded search, bound 2)')
        .choices(['random', 'pct', 'pb'])
        .default('random'),
    )
    .option('--depth <d>', "PCT's bug depth d (d - 1 priority change points)", integer(1, 16), 2)
    .option('--seed <s>', 'run r uses seed s + r', integer(0, 0x7fffffff), 1)
    .option('--replay <seed|file>', 'repeat one run: a seed of the strategy, or a schedule file a failing run wrote')
    .option('--shard <i/n>', 'run only shard i of n of the seed space (1-based; shards together are exactly the unsharded run)', (v: string) => {
      if (!/^\d+\/\d+$/.test(v)) throw new InvalidArgumentError('It must be i/n, e.g. 2/8.');
      return v;
    })
    .option('--out <dir>', `where failing runs' schedules and timelines go (default ${DEFAULT_RUNS_DIR}/<scenario>-<time>)`)
    .option('--json <file>', 'write the results as JSON (shards merge with --merge)')
    .option('--junit <file>', 'write the results as JUnit XML')
    .option(
      '--record',
      'record each failing run whose schedule is written (QEMU scenarios: the qtest stream and DMA reads, <stem>.rec beside the schedule); also DIRQL_RECORD=on|on-failure',
    )
    .option('--merge <results...>', 'merge the JSON results of shards (no scenario is run); write them with --json / --junit')
    .addHelpText('after', '\nExit status: 0 no run failed, 1 a run failed, 2 usage.');
  cmd.action(async (spec: string | undefined, flags: ExploreFlags) => {
    const x = await import('../explore/index.ts');
    let result;
    if (flags.merge) {
      const parts = await Promise.all(flags.merge.map(async (f) => JSON.parse(await readFile(f, 'utf8')) as import('../explore/index.ts').ExploreResult));
      result = x.mergeResults(parts);
    } else {
      if (spec === undefined) throw new UsageError("missing argument '<scenario>' (or --merge)", 'dirql explore');
      let shard;
      try {
        shard = flags.shard ? x.parseShard(flags.shard) : undefined;
      } catch (err) {
        throw new UsageError(`option '--shard <i/n>': ${(err as Error).message}`, 'dirql explore');
      }
      let scenario;
      try {
        scenario = await x.loadExploreScenario(spec);
      } catch (err) {
        if (err instanceof x.ExploreScenarioError) throw new UsageError(`argument '<scenario>': ${err.message}`, 'dirql explore');
        throw err;
      }
      let replay: { seed: number } | { schedule: import('../explore/index.ts').ScheduleFile } | undefined;
      if (flags.replay !== undefined) {
        replay = /^\d+$/.test(flags.replay)
          ? { seed: Number(flags.replay) }
          : { schedule: JSON.parse(await readFile(flags.replay, 'utf8')) as import('../explore/index.ts').ScheduleFile };
      }
      const onQemu = scenario.device !== undefined && scenario.device !== 'kernel';
      if (flags.record && !onQemu) {
        throw new UsageError(
          `option '--record': ${scenario.name} runs on the kernel model alone, so nothing enters it from outside to record; a failing run's schedule file replays it whole (--replay FILE)`,
          'dirql explore',
        );
      }
      // Explore keeps recordings of failing runs only, so on and on-failure are the same here; a kernel-only scenario has none.
      const record = onQemu && (flags.record === true || /^(on|on-failure)$/.test(process.env.DIRQL_RECORD ?? ''));
      const out = flags.out ?? join(DEFAULT_RUNS_DIR, runName(scenario.name));
      const strategy = replay && 'schedule' in replay ? (replay.schedule.strategy as ExploreFlags['strategy']) : flags.strategy;
      result = await x.explore(scenario, {
        strategy,
        runs: flags.runs,
        depth: replay && 'schedule' in replay ? (replay.schedule.depth ?? flags.depth) : flags.depth,
        seed: flags.seed,
        outDir: out,
        ...(record ? { record } : {}),
        ...(shard ? { shard } : {}),
        ...(replay ? { replay } : {}),
        log: (line) => process.stderr.write(line + '\n'),
      });
      for (const f of result.failures) {
        if (f.schedule) process.stderr.write(`  schedule ${f.schedule}\n`);
        if (f.timeline) process.stderr.write(`  timeline ${f.timeline.html} (and ${f.timeline.perfetto}, open at ui.perfetto.dev)\n`);
        if (f.recording) process.stderr.write(`  recording ${f.recording} (the run on QEMU: its qtest stream, IRQ edges and DMA reads; src/record/README.md)\n`);
        process.stderr.write(
          `  replay: dirql explore ${spec} --replay ${f.schedule ?? `${f.seed} --strategy ${strategy}${strategy === 'pct' ? ` --depth ${flags.depth}` : ''}`}\n`,
        );
      }
    }
    const r = result;
    process.stdout.write(
      `explore ${r.scenario}: ${r.strategy}${r.depth !== undefined ? ` depth ${r.depth}` : ''}, ${r.runs} runs, ${r.failures.length} failed, ` +
        `${r.distinct} distinct interleavings, ${r.runsPerSecond.toFixed(0)} runs/s${r.shards?.length ? ` (shards ${r.shards.join(', ')})` : ''}\n`,
    );
    if (r.guarantee) process.stdout.write(`  guarantee: ${r.guarantee}\n`);
    if (flags.json) await writeFile(flags.json, JSON.stringify(r, null, 2) + '\n');
    if (flags.junit) await writeFile(flags.junit, x.toJUnit(r));
    process.exitCode = r.failures.length > 0 ? EXIT_FAILED : EXIT_OK;
  });
  return cmd;
}
