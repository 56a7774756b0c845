/**
 * The `dirql` command (bin/dirql.mjs): `up`, `run`, `explore`, `ctl`, `peer`, `qemu`, `replay`, `bench`. Commander parses;
 * every usage error exits 2 naming the flag and pointing at `--help` (a missing QEMU binary too); a failed run exits 1.
 * Commands load the host only when they run, so `--help` is quick and the log level can be set first.
 */
import { Command } from 'commander';
import { QemuBinaryMissingError } from '../../qemu/errors.ts';
import { benchCommand } from './bench.ts';
import { ctlCommand } from './ctl.ts';
import { exploreCommand } from './explore.ts';
import { peerCommand } from './peer.ts';
import { qemuCommand } from './qemu.ts';
import { replayCommand } from './replay.ts';
import { runCommand } from './run.ts';
import { upCommand } from './up.ts';
import { conventions, EXIT_FAILED, EXIT_USAGE, exitCodeOf, helpHint, UsageError } from './usage.ts';

export function buildProgram(): Command {
  const program = conventions(new Command('dirql'), 'dirql')
    .description('a hardware-in-the-loop host for Windows NIC miniport drivers: the Windows kernel in Node, the NIC in QEMU')
    .enablePositionalOptions()
    .addCommand(upCommand())
    .addCommand(runCommand())
    .addCommand(exploreCommand())
    .addCommand(replayCommand())
    .addCommand(ctlCommand())
    .addCommand(peerCommand())
    .addCommand(qemuCommand())
    .addCommand(benchCommand())
    .addHelpText(
      'after',
      '\nEvery command takes --help. Exit status: 0 ok, 1 failed, 2 usage or configuration (a bad flag or config key, no QEMU binary).\nOutputs of up and run: <outputDir>/runs/<UTC time>-<pid>/ (default ./dirql-out).',
    );
  return program;
}

/** Parse and run; sets the exit status and ends the process once the command is done. */
export async function main(argv: readonly string[]): Promise<void> {
  const program = buildProgram();
  let code: number;
  try {
    await program.parseAsync([...argv], { from: 'user' });
    code = typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    // No QEMU to run is a setup mistake, found before anything started: exit 2 like a bad config key.
    const known = err instanceof QemuBinaryMissingError ? EXIT_USAGE : exitCodeOf(err);
    if (err instanceof UsageError) process.stderr.write(`${err.command}: error: ${err.message}\n${helpHint(err.command)}\n`);
    else if (err instanceof QemuBinaryMissingError) process.stderr.write(`dirql: ${err.message}\n`);
    else if (known === undefined) {
      process.stderr.write(`dirql: ${err instanceof Error ? err.message : String(err)}\n`);
      const context = (err as { context?: unknown }).context;
      if (context && Object.keys(context).length > 0) process.stderr.write(`${JSON.stringify(context)}\n`);
      if (err instanceof Error && err.cause) process.stderr.write(`  cause: ${err.cause instanceof Error ? err.cause.message : String(err.cause)}\n`);
    }
    code = known ?? EXIT_FAILED;
  }
  // Everything the command started has stopped by now; don't wait for pino or stray timers.
  process.exit(code);
}
