/**
 * dirqlctl — command line for a running dirql driver host (see src/control/README.md).
 *
 *   npx tsx scripts/dirqlctl.ts status|stats|methods|link up|link down|send --size N --count K|watch <topic>|call <method> [JSON]
 */
import { runCli } from '../src/control/cli.ts';

const stop = new AbortController();
process.once('SIGINT', () => stop.abort());
process.once('SIGTERM', () => stop.abort());

const code = await runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(text + '\n'),
  err: (text) => process.stderr.write(text + '\n'),
  stop: stop.signal,
});
process.exitCode = code;
// The control connection is closed by now; exit without waiting for pino or stray timers.
process.exit(code);
