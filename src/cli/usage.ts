import { Command, CommanderError, InvalidArgumentError } from 'commander';

/** Exit status of every dirql command: 0 ok, 1 the run failed, 2 usage or configuration (bad flag, bad value, bad config, no QEMU binary). */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/**
 * A usage mistake found after parsing (a flag that needs another, a config key): exit 2, name the
 * flag or key, point at `--help`. `command` is the full command, e.g. `dirql up`.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    readonly command = 'dirql',
  ) {
    super(message);
  }
}

/** The hint printed after every usage error. */
export function helpHint(command: string): string {
  return `(see \`${command} --help\`)`;
}

/** Commander's parsers: a bad value becomes "option '--x <n>' argument 'v' is invalid. <why>". */
export function integer(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`It must be an integer in ${min}..${max}.`);
    return n;
  };
}

export function udpPort(value: string): number {
  return integer(1, 0xffff)(value);
}

/**
 * The settings every dirql command shares: usage errors exit 2 with the hint, help exits 0, nothing
 * calls process.exit inside commander (main decides). Applied to each command as it is made.
 */
export function conventions(cmd: Command, fullName: string): Command {
  return cmd
    .exitOverride()
    .showHelpAfterError(helpHint(fullName))
    .configureOutput({ outputError: (text, write) => write(text) });
}

/** The exit status for an error out of parseAsync: help and version are 0, commander's own complaints 2. */
export function exitCodeOf(err: unknown): number | undefined {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version') return EXIT_OK;
    return err.code === 'dirql.failed' ? err.exitCode : EXIT_USAGE;
  }
  if (err instanceof UsageError) return EXIT_USAGE;
  return undefined;
}
