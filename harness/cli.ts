/**
 * The wire peer for a running host: `npx tsx harness/cli.ts --qemu-port P [options]`.
 * Flags are documented in harness/README.md and by --help.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { HarnessConfigError } from './errors.ts';
import type { FaultPlanOptions } from './faults.ts';
import { hostWirePorts } from './host-ports.ts';
import { formatReport, runPeerSession, sessionClean, type PeerSessionOptions } from './peer-session.ts';
import type { FrameSizeSpec } from './traffic.ts';

const USAGE = `usage: tsx harness/cli.ts (--qemu-port P [--port Q] | --control [SOCKET]) [--send N] [--size S|mixed|MIN-MAX]
  [--seed N] [--stream N] [--dst MAC] [--src MAC] [--jumbo] [--pps N] [--window N]
  [--expect N] [--idle-ms N] [--duration-ms N] [--pcap FILE] [--pcap-direction both|sent|received]
  [--drop-every N] [--drop-p P] [--corrupt-every N] [--duplicate-every N] [--reorder-every N]
  [--fault-seed N] [--json]
--control asks a running host (dirql up --hold --control) for both ports over its control socket
exit status: 0 clean, 1 frames lost/corrupted/duplicated or sending stalled, 2 usage error`;

const OPTIONS = {
  'qemu-port': { type: 'string' },
  control: { type: 'string' },
  port: { type: 'string' },
  send: { type: 'string' },
  size: { type: 'string' },
  seed: { type: 'string' },
  stream: { type: 'string' },
  dst: { type: 'string' },
  src: { type: 'string' },
  jumbo: { type: 'boolean' },
  pps: { type: 'string' },
  window: { type: 'string' },
  expect: { type: 'string' },
  'idle-ms': { type: 'string' },
  'duration-ms': { type: 'string' },
  pcap: { type: 'string' },
  'pcap-direction': { type: 'string' },
  'drop-every': { type: 'string' },
  'drop-p': { type: 'string' },
  'corrupt-every': { type: 'string' },
  'duplicate-every': { type: 'string' },
  'reorder-every': { type: 'string' },
  'fault-seed': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function int(name: string, text: string | undefined, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new HarnessConfigError(`--${name} must be an integer in ${min}..${max}, got ${JSON.stringify(text)}`, { flag: name });
  }
  return n;
}

function size(text: string | undefined): FrameSizeSpec | undefined {
  if (text === undefined || text === 'mixed') return text;
  const range = /^(\d+)-(\d+)$/.exec(text);
  if (range) return { min: Number(range[1]), max: Number(range[2]) };
  return int('size', text, 1);
}

function direction(text: string | undefined): PeerSessionOptions['pcapDirection'] {
  if (text === undefined || text === 'both' || text === 'sent' || text === 'received') return text;
  throw new HarnessConfigError(`--pcap-direction must be both, sent or received`, { flag: 'pcap-direction' });
}

/** `--control` without a value (last, or before another flag) means the default control socket. */
function withControlValue(argv: string[]): string[] {
  return argv.flatMap((a, i) => (a === '--control' && (i === argv.length - 1 || argv[i + 1]!.startsWith('--')) ? [a, ''] : [a]));
}

export type PeerArgs = PeerSessionOptions & { json: boolean; help: boolean; control?: string };

/**
 * Turn argv into session options; throws HarnessConfigError (or parseArgs' TypeError) on misuse.
 * With `--control`, qemuPort (and port, unless given) are filled in by resolveHostPorts.
 */
export function parsePeerArgs(argv: string[]): PeerArgs {
  const { values: v } = parseArgs({ args: withControlValue(argv), options: OPTIONS, strict: true, allowPositionals: false });
  if (v.help) return { qemuPort: 0, json: false, help: true };
  const control = v.control;
  if (control !== undefined && v['qemu-port'] !== undefined) {
    throw new HarnessConfigError('--control and --qemu-port exclude each other: --control asks the host for its ports', { flag: 'control' });
  }
  const qemuPort = control !== undefined ? 0 : int('qemu-port', v['qemu-port'], 1, 65535);
  if (qemuPort === undefined) throw new HarnessConfigError('--qemu-port (or --control) is required', { flag: 'qemu-port' });
  const faults: FaultPlanOptions = {};
  const every = (flag: string) => int(flag, v[flag as keyof typeof v] as string | undefined, 1);
  const dropEvery = every('drop-every');
  const dropP = v['drop-p'] === undefined ? undefined : Number(v['drop-p']);
  if (dropP !== undefined && !(dropP >= 0 && dropP <= 1)) {
    throw new HarnessConfigError('--drop-p must be a probability in [0, 1]', { flag: 'drop-p' });
  }
  if (dropEvery !== undefined || dropP !== undefined) {
    faults.drop = { ...(dropEvery ? { every: dropEvery } : {}), ...(dropP !== undefined ? { probability: dropP } : {}) };
  }
  const corruptEvery = every('corrupt-every');
  if (corruptEvery) faults.corrupt = { every: corruptEvery };
  const duplicateEvery = every('duplicate-every');
  if (duplicateEvery) faults.duplicate = { every: duplicateEvery };
  const reorderEvery = every('reorder-every');
  if (reorderEvery) faults.reorder = { every: reorderEvery };
  const faultSeed = int('fault-seed', v['fault-seed']);
  const anyFault = Object.keys(faults).length > 0;
  if (anyFault && faultSeed !== undefined) faults.seed = faultSeed;
  const opts: PeerArgs = { qemuPort, json: v.json ?? false, help: false, ...(control !== undefined ? { control } : {}) };
  const set = <K extends keyof PeerSessionOptions>(key: K, value: PeerSessionOptions[K] | undefined) => {
    if (value !== undefined) (opts as PeerSessionOptions)[key] = value;
  };
  set('port', int('port', v.port, 0, 65535));
  set('send', int('send', v.send));
  set('size', size(v.size));
  set('seed', int('seed', v.seed));
  set('stream', int('stream', v.stream, 0, 65535));
  set('dst', v.dst);
  set('src', v.src);
  set('allowJumbo', v.jumbo);
  set('framesPerSecond', int('pps', v.pps, 1));
  set('window', int('window', v.window, 1));
  set('expect', int('expect', v.expect));
  set('idleMs', int('idle-ms', v['idle-ms']));
  set('durationMs', int('duration-ms', v['duration-ms']));
  set('pcap', v.pcap);
  set('pcapDirection', direction(v['pcap-direction']));
  if (anyFault) opts.faults = faults;
  return opts;
}

/** With `--control`: the host's wire ports (an explicit --port still wins for the peer's own). */
export async function resolveHostPorts(opts: PeerArgs): Promise<PeerArgs> {
  if (opts.control === undefined) return opts;
  const ports = await hostWirePorts(opts.control === '' ? undefined : opts.control);
  return { ...opts, qemuPort: ports.qemuPort, port: opts.port ?? ports.peerPort };
}

async function main(): Promise<number> {
  let opts: PeerArgs;
  try {
    opts = await resolveHostPorts(parsePeerArgs(process.argv.slice(2)));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  const { json, help: _help, control: _control, ...session } = opts;
  const report = await runPeerSession({ ...session, signal: abort.signal });
  process.stdout.write(json ? `${JSON.stringify(report)}\n` : `${formatReport(report)}\n`);
  return sessionClean(report) ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
