import { Command } from 'commander';
import { runScript } from './child.ts';
import { conventions, helpHint } from './usage.ts';

/**
 * `dirql peer …`: the wire peer (harness/cli.ts) unchanged — its flags, report and exit status
 * (0 clean, 1 frames lost/corrupted/duplicated or sending stalled, 2 usage) — run as a child so
 * its own entry point stays the one that parses and reports.
 */
export function peerCommand(): Command {
  const cmd = conventions(new Command('peer'), 'dirql peer')
    .description('the wire peer for a running host: send a self-verifying stream, capture, inject faults')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .passThroughOptions()
    .argument('[args...]', 'wire peer options; `dirql peer --help` lists them');
  cmd.action(async (args: string[]) => {
    const help = args.includes('--help') || args.includes('-h');
    const code = await runScript('harness/cli.ts', args, help ? (t) => t.replace(/usage: (npx )?tsx harness\/cli\.ts/, 'usage: dirql peer') : undefined);
    if (code === 2) process.stderr.write(helpHint('dirql peer') + '\n');
    process.exitCode = code;
  });
  return cmd;
}
