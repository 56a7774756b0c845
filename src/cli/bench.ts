import { spawnSync } from 'node:child_process';
import { Command, InvalidArgumentError } from 'commander';
import { ROOT, runScript } from './child.ts';
import { conventions } from './usage.ts';

/** The sections bench/run.ts knows. */
const SECTIONS = ['mmio', 'ring', 'throughput', 'latency'] as const;

function sections(value: string): string {
  const unknown = value.split(',').filter((s) => !(SECTIONS as readonly string[]).includes(s));
  if (unknown.length > 0) throw new InvalidArgumentError(`Unknown section ${unknown.map((s) => JSON.stringify(s)).join(', ')}; the sections are ${SECTIONS.join(', ')}.`);
  return value;
}

/** `dirql bench`: bench/run.ts (every benchmark against real QEMU, each beside its baseline). */
export function benchCommand(): Command {
  const cmd = conventions(new Command('bench'), 'dirql bench')
    .description('run the benchmarks against real QEMU; prints a table, writes bench/results/')
    .option('--quick', 'shorter runs (a smoke check)')
    .option('--only <sections>', `comma-separated subset of ${SECTIONS.join(',')}`, sections)
    .addHelpText('after', '\nExit status: 0 all sections ran, 1 a section failed, 2 usage.');
  cmd.action(async (flags: { quick?: boolean; only?: string }) => {
    // The same QEMU check `npm run bench` runs first.
    const check = spawnSync(process.execPath, ['scripts/ensure-qemu.mjs'], { cwd: ROOT, stdio: 'inherit' });
    if (check.status !== 0) {
      process.exitCode = 1;
      return;
    }
    process.exitCode = await runScript('bench/run.ts', [...(flags.quick ? ['--quick'] : []), ...(flags.only ? ['--only', flags.only] : [])]);
  });
  return cmd;
}
