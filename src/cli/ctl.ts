import { Command } from 'commander';
import { conventions, helpHint } from './usage.ts';

/** dirqlctl's usage names its script; under `dirql` it is `dirql ctl`. */
const rename = (text: string) => text.replaceAll('npx tsx scripts/dirqlctl.ts', 'dirql ctl');

/**
 * `dirql ctl …`: dirqlctl (src/control/cli.ts) unchanged — its parser, its commands, its exit
 * status (0 ok, 1 the host reported an error, 2 usage, 3 no host) — under the one command.
 */
export function ctlCommand(): Command {
  const cmd = conventions(new Command('ctl'), 'dirql ctl')
    .description('talk to a running host (`dirql up --hold --control`): status, stats, link up|down, send, remove, watch, methods, ping, call')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .passThroughOptions()
    .argument('[args...]', 'a dirqlctl command and its options; `dirql ctl --help` lists them');
  cmd.action(async (args: string[]) => {
    const { runCli } = await import('../control/cli.ts');
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const code = await runCli(args, {
        out: (text) => process.stdout.write(rename(text) + '\n'),
        err: (text) => process.stderr.write(rename(text) + '\n'),
        stop: stop.signal,
      });
      if (code === 2) process.stderr.write(helpHint('dirql ctl') + '\n');
      process.exitCode = code;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  });
  return cmd;
}
