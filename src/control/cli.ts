/**
 * dirqlctl: talk to a running driver host from a shell. The entry point is scripts/dirqlctl.ts;
 * the logic lives here so tests can run it against an in-process ControlServer.
 */
import { parseArgs } from 'node:util';
import { ControlClient } from './client.ts';
import { ControlClosedError, ControlConnectError, ControlError, ControlRemoteError, ControlTimeoutError, ControlVersionMismatchError } from './errors.ts';
import { ControlMethods, type LinkParams, type SendParams } from './methods.ts';
import { formatInline, formatValue, statsSummaryLine, toJson } from './print.ts';

export const USAGE = `usage: npx tsx scripts/dirqlctl.ts [--socket PATH] [--timeout MS] [--json] <command>

commands:
  status                      host pid, driver, protocol, uptime, then the host's status record
  stats                       the host's counters
  link up|down                set the NIC's link (QMP set_link on the host)
  send --size N --count K     have the driver transmit K test frames of N bytes
  remove                      surprise-remove the NIC (QMP device_del and ACPI eject); the driver's removal path runs, the host stays up
  watch <topic> [--count N]   print events of a topic (link, bugcheck, device-lost, netdev-stalled, surprise-removed, stats) until Ctrl-C
  methods                     list the methods the host offers
  ping [--count N]            time N sequential control round trips (default 100)
  call <method> [JSON]        call any method with JSON params

The host is found through DIRQL_CONTROL_SOCKET, else the \`current\` link of the control directory
($XDG_RUNTIME_DIR/dirql or /tmp/dirql-ctl-<uid>). Exit status: 0 ok, 1 the host reported an error,
2 usage, 3 no host (or one speaking another protocol), 4 the connection was lost or the host did not
answer in time.`;

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Ends `watch` (Ctrl-C in the real CLI). */
  stop?: AbortSignal;
}

class UsageError extends Error {}

function positiveInt(value: string | undefined, name: string): number {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n <= 0) throw new UsageError(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

function describeError(err: unknown): string {
  if (err instanceof ControlRemoteError) {
    const context = Object.keys(err.context).length > 0 ? '\n' + formatValue(err.context, 2) : '';
    return `dirqlctl: ${err.method}: ${err.remoteName}: ${err.message}${context}`;
  }
  if (err instanceof Error) return `dirqlctl: ${err.message}`;
  return `dirqlctl: ${String(err)}`;
}

function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError) return 2;
  if (err instanceof ControlConnectError) return 3;
  if (err instanceof ControlVersionMismatchError) return 3;
  if (err instanceof ControlClosedError || err instanceof ControlTimeoutError) return 4;
  return 1;
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        socket: { type: 'string' },
        timeout: { type: 'string' },
        json: { type: 'boolean', default: false },
        size: { type: 'string' },
        count: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    io.err(`dirqlctl: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    (values.help ? io.out : io.err)(USAGE);
    return values.help ? 0 : 2;
  }
  const print = (value: unknown) => io.out(values.json ? toJson(value, 2) : formatValue(value));

  let client: ControlClient | undefined;
  try {
    const timeoutMs = values.timeout !== undefined ? positiveInt(values.timeout, '--timeout') : undefined;
    const plan = planCommand(command, rest, values);
    client = await ControlClient.connect({
      ...(values.socket ? { socketPath: values.socket } : {}),
      ...(timeoutMs ? { timeoutMs } : {}),
      clientName: 'dirqlctl',
    });
    const callOpts = { timeoutMs: timeoutMs ?? plan.defaultTimeoutMs ?? 10_000 };
    switch (plan.kind) {
      case 'status': {
        const h = client.hello;
        const header = { host: { pid: h.pid, driver: h.driver, protocol: h.protocol, uptime: `${(h.uptimeMs / 1000).toFixed(1)} s`, socket: h.socketPath } };
        const status = h.methods.includes(ControlMethods.status) ? await client.call(ControlMethods.status, undefined, callOpts) : undefined;
        print(status === undefined ? header : { ...header, status });
        return 0;
      }
      case 'methods':
        print(values.json ? client.hello.methods : client.hello.methods.join('\n') || '(the host registered no methods)');
        return 0;
      case 'call': {
        const reply = await client.call(plan.method, plan.params, callOpts);
        // `stats`: one line a person reads first, then the detail.
        const summary = plan.summarize && !values.json ? statsSummaryLine(reply) : undefined;
        if (summary) io.out(summary);
        print(reply);
        return 0;
      }
      case 'ping':
        print(await ping(client, plan.count, callOpts.timeoutMs));
        return 0;
      default:
        return await watch(client, plan.topic, plan.count, values.json, io);
    }
  } catch (err) {
    if (err instanceof UsageError) io.err(`dirqlctl: ${err.message}\n${USAGE}`);
    else io.err(values.json && err instanceof ControlError ? toJson({ error: err.name, message: err.message, context: err.context }) : describeError(err));
    return exitCodeOf(err);
  } finally {
    await client?.close();
  }
}

type Plan =
  | { kind: 'status' | 'methods'; defaultTimeoutMs?: number }
  | { kind: 'ping'; count: number; defaultTimeoutMs?: number }
  | { kind: 'call'; method: string; params: unknown; defaultTimeoutMs?: number; summarize?: boolean }
  | { kind: 'watch'; topic: string; count: number | undefined; defaultTimeoutMs?: number };

function planCommand(command: string, rest: string[], values: { size?: string; count?: string }): Plan {
  switch (command) {
    case 'status':
    case 'methods':
      return { kind: command };
    case 'ping':
      return { kind: 'ping', count: values.count !== undefined ? positiveInt(values.count, '--count') : 100 };
    case 'stats':
      return { kind: 'call', method: ControlMethods.stats, params: undefined, summarize: true };
    case 'link': {
      const state = rest[0];
      if (state !== 'up' && state !== 'down') throw new UsageError('link needs `up` or `down`');
      const params: LinkParams = { up: state === 'up' };
      return { kind: 'call', method: ControlMethods.link, params };
    }
    case 'send': {
      const params: SendParams = { size: positiveInt(values.size, '--size'), count: positiveInt(values.count, '--count') };
      return { kind: 'call', method: ControlMethods.send, params, defaultTimeoutMs: 60_000 };
    }
    case 'remove':
    case 'surprise-remove':
      return { kind: 'call', method: ControlMethods.surpriseRemove, params: undefined, defaultTimeoutMs: 30_000 };
    case 'watch': {
      const topic = rest[0];
      if (!topic) throw new UsageError('watch needs a topic (link, bugcheck, stats, frame)');
      return { kind: 'watch', topic, count: values.count !== undefined ? positiveInt(values.count, '--count') : undefined };
    }
    case 'call': {
      const method = rest[0];
      if (!method) throw new UsageError('call needs a method name');
      let params: unknown;
      if (rest[1] !== undefined) {
        try {
          params = JSON.parse(rest[1]);
        } catch (err) {
          throw new UsageError(`params must be JSON: ${(err as Error).message}`);
        }
      }
      return { kind: 'call', method, params };
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/** `hello` is answered by every host without touching the driver: a pure control-plane round trip. */
async function ping(client: ControlClient, count: number, timeoutMs: number): Promise<Record<string, number | string>> {
  const us: number[] = [];
  const params = { protocol: client.hello.protocol, client: 'dirqlctl ping' };
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    await client.call('hello', params, { timeoutMs });
    us.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  us.sort((a, b) => a - b);
  const at = (q: number) => us[Math.min(us.length - 1, Math.floor(q * us.length))]!;
  const round = (v: number) => Math.round(v * 10) / 10;
  return { calls: count, medianUs: round(at(0.5)), p99Us: round(at(0.99)), minUs: round(us[0]!), maxUs: round(us[us.length - 1]!) };
}

function timestamp(): string {
  return new Date().toISOString().slice(11, 23);
}

async function watch(client: ControlClient, topic: string, count: number | undefined, json: boolean, io: CliIo): Promise<number> {
  let seen = 0;
  return new Promise<number>((resolve) => {
    let finished = false;
    const finish = (code: number) => {
      if (finished) return;
      finished = true;
      io.stop?.removeEventListener('abort', onAbort);
      client.off('close', onClose);
      resolve(code);
    };
    const onAbort = () => finish(0);
    const onClose = () => {
      io.err(`dirqlctl: the host closed the control connection`);
      finish(4);
    };
    io.stop?.addEventListener('abort', onAbort);
    client.once('close', onClose);
    client
      .subscribe(topic, (payload, info) => {
        const dropped = info.dropped > 0 ? ` (${info.dropped} dropped before this one)` : '';
        io.out(json ? toJson({ time: Date.now(), topic, dropped: info.dropped, payload }) : `${timestamp()} ${topic}${dropped} ${formatInline(payload)}`);
        if (count !== undefined && ++seen >= count) finish(0);
      })
      .then(
        () => {
          if (!json) io.err(`dirqlctl: watching "${topic}" on host pid ${client.hello.pid}; Ctrl-C to stop`);
        },
        (err: unknown) => {
          io.err(describeError(err));
          finish(exitCodeOf(err));
        },
      );
  });
}
