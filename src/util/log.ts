import pino, { type Logger } from 'pino';

/**
 * One structured logger for the whole host. Quiet by default (warn), pretty on a TTY.
 * DIRQL_LOG=debug|info|trace|silent changes the level; DIRQL_LOG_FORMAT=json forces JSON.
 */
function makeRoot(): Logger {
  const level = process.env.DIRQL_LOG ?? 'warn';
  const pretty = process.stderr.isTTY && process.env.DIRQL_LOG_FORMAT !== 'json';
  if (pretty) {
    return pino({
      level,
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: true } },
    });
  }
  return pino({ level }, pino.destination(2));
}

let root: Logger | undefined;

export function logger(component: string): Logger {
  root ??= makeRoot();
  return root.child({ component });
}

/**
 * A module's logger, created on first use so that hosts and tests can set DIRQL_LOG before anything
 * is logged: `const log = lazyLogger('kernel'); … log().warn(…)`.
 */
export function lazyLogger(component: string): () => Logger {
  let log: Logger | undefined;
  return () => (log ??= logger(component));
}

export type { Logger };
