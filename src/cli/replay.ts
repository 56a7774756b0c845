import { Command } from 'commander';
import { conventions, EXIT_FAILED, EXIT_OK, EXIT_USAGE } from './usage.ts';
import { basename, dirname, resolve } from 'node:path';
import type { HostTraceOptions } from '../host/trace.ts';
import type { ReplayResult } from '../record/replay.ts';

/**
 * `dirql replay FILE`: the recorded driver session (or explore run) again, without QEMU (REPLAY,
 * labelled so in every line). Exit 0 when it reaches the recorded counters and bug check, 1 when it diverges,
 * stalls or ends elsewhere, 2 for a file that is not a readable recording.
 */
export function replayCommand(): Command {
  const cmd = conventions(new Command('replay'), 'dirql replay')
    .description('replay a recorded session (dirql up/run/explore --record, DIRQL_RECORD) without QEMU: the same driver code fed from the recording')
    .argument('<file>', 'a dirql recording')
    .option('--driver <module>', 'replay this driver module instead of the recorded one (a changed driver: the replay reports where it diverges)')
    .option('--scenario <file#export>', "an explore run's recording: run this scenario module (default: the one the recording names)")
    .option(
      '--trace [path]',
      "write the replay's timeline (<recording>.replay.perfetto-trace and .html; replay time, so every replay writes the same one) into a directory (default: the recording's) or as the file given",
    )
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nUnder a debugger: node --inspect-brk bin/dirql.mjs replay FILE, then break in the driver; every replay takes the same path.\nExit status: 0 same counters and bug check as recorded, 1 diverged, stalled or different, 2 not a readable recording.',
    );
  cmd.action(async (file: string, flags: { driver?: string; scenario?: string; json?: boolean; trace?: string | true }) => {
    const { replay } = await import('../record/replay.ts');
    const { RecordingError } = await import('../record/errors.ts');
    let r: ReplayResult;
    try {
      r = await replay(file, {
        ...(flags.driver ? { driver: flags.driver } : {}),
        ...(flags.scenario ? { scenario: flags.scenario } : {}),
        ...(flags.trace !== undefined ? { trace: replayTrace(file, flags.trace) } : {}),
      });
    } catch (err) {
      if (err instanceof RecordingError) {
        process.stderr.write(`dirql replay: ${err.message}\n`);
        process.exitCode = EXIT_USAGE;
        return;
      }
      throw err;
    }
    if (flags.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    else process.stdout.write(formatReplay(r));
    process.exitCode = r.outcome === 'same' ? EXIT_OK : EXIT_FAILED;
  });
  return cmd;
}

/** `--trace [path]`: beside the recording by default, named after it. */
function replayTrace(file: string, path: string | true): HostTraceOptions {
  const name = `${basename(file).replace(/\.rec$/, '')}.replay`;
  return path === true ? { path: dirname(resolve(file)), name } : { path, name };
}

/** The replay's report: outcome, counters, bug check, divergence, speed; every line says REPLAY. */
export function formatReplay(r: ReplayResult): string {
  const out: string[] = [];
  const speed = r.speedup !== undefined ? `, ${r.speedup.toFixed(1)}× the recorded session's ${Math.round(r.recordedMs!)} ms` : '';
  out.push(`REPLAY (no QEMU) of ${r.file}: ${r.outcome.toUpperCase()} — ${r.position} of ${r.events} events in ${Math.round(r.replayMs)} ms${speed}`);
  const x = r.explore;
  if (x)
    out.push(
      `REPLAY explore run: "${x.scenario}", ${x.strategy} seed ${x.seed}, ${x.replayedDecisions === x.decisions ? `${x.decisions} decisions` : `${x.replayedDecisions} of its ${x.decisions} decisions taken`}${x.source ? ` (${x.source})` : ''}`,
    );
  if (!r.sameDriver) out.push(`REPLAY: the ${x ? "scenario's module" : 'driver'} replayed is not the one recorded (another sha256)`);
  out.push(`REPLAY counters:   ${JSON.stringify(r.counters ?? null)}`);
  if (r.outcome !== 'same') out.push(`REPLAY recorded:   ${JSON.stringify(r.recordedCounters)}`);
  const removal = (r.counters as { removal?: { bdf: string; callbacks: { handler: string; irql: string }[] } } | undefined)?.removal;
  if (removal) out.push(`REPLAY surprise removal of ${removal.bdf}: ${removal.callbacks.map((c) => `${c.handler} at ${c.irql}`).join(', ') || 'no callbacks'}`);
  if (r.bugCheck) out.push(`REPLAY bug check:  ${r.bugCheck.name} (0x${r.bugCheck.code.toString(16)}) ${r.bugCheck.message}`);
  if (r.recordedBugCheck && r.outcome !== 'same') out.push(`REPLAY recorded bug check: ${r.recordedBugCheck.name}: ${r.recordedBugCheck.message}`);
  for (const note of r.notes ?? []) out.push(`REPLAY note: ${note}`);
  if (r.trace) out.push(`REPLAY timeline:   ${r.trace.html} (and ${r.trace.perfetto}, open at ui.perfetto.dev)`);
  const d = r.divergence;
  if (d) {
    out.push(`REPLAY ${r.outcome} at event ${d.position}${d.routine ? ` in ${d.routine}` : ''}`);
    out.push(`  expected: ${String(d.expected)}`);
    out.push(`  actual:   ${String(d.actual)}`);
    if (d.recent.length > 0) out.push('  recorded before it:', ...d.recent.map((e) => `    ${e}`));
    if (d.driverFrames) out.push('  in the driver:', ...d.driverFrames.map((l) => `    ${l}`));
    if (d.stack)
      out.push(
        '  stack:',
        ...d.stack
          .split('\n')
          .slice(0, 12)
          .map((l) => `  ${l}`),
      );
  }
  return out.join('\n') + '\n';
}
