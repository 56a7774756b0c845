/**
 * The control plane's cost: `status` calls from a ControlClient in this process to a driver host
 * (with its QEMU, and the host's own control server, src/host/control.ts) in a child process, over
 * the real unix socket. Round trip p50/p99 of calls made one at a time, and calls/s one at a time
 * and with `--inflight` calls outstanding. Rounds alternate the two; medians over the rounds.
 *
 *   node --import tsx bench/control.ts [--calls 5000] [--rounds 5] [--inflight 16] [--quick]
 *
 * Pinned (`taskset -c 0`), the host inherits the affinity: client and host share one CPU.
 * Prints one JSON line last on stdout (the ControlBenchResult).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ControlClient, ControlMethods } from '../src/control/index.ts';
import { median, round, summarize } from './stats.ts';

export interface ControlBenchResult {
  calls: number;
  rounds: number;
  inflight: number;
  /** One call at a time: round trip, µs (medians over the rounds of each round's percentile). */
  p50Us: number;
  p99Us: number;
  callsPerSecond: number;
  /** `inflight` calls outstanding at all times. */
  pipelinedCallsPerSecond: number;
}

const READY = 'control-bench-ready';

/** The child: a driver host with its control server on `socketPath`, until stdin closes. */
async function serve(socketPath: string): Promise<void> {
  const { DriverHost } = await import('../src/host/driver-host.ts');
  const { startControl } = await import('../src/host/control.ts');
  const host = await DriverHost.start({ bugCheckDir: join(tmpdir(), 'dirql-bench-crash-reports') });
  const control = await startControl(host, { socketPath });
  console.log(READY);
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.once('end', resolve));
  await control.stop();
  await host.stop();
}

function startHost(socketPath: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', socketPath], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes(READY)) resolve(child);
    });
    child.once('exit', (code, signal) => reject(new Error(`control bench host exited before it was ready: ${code ?? signal}`)));
  });
}

async function oneAtATime(client: ControlClient, calls: number): Promise<{ samples: number[]; callsPerSecond: number }> {
  const samples = new Array<number>(calls);
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await client.call(ControlMethods.status);
    samples[i] = (performance.now() - t) * 1000;
  }
  return { samples, callsPerSecond: (calls * 1000) / (performance.now() - t0) };
}

async function pipelined(client: ControlClient, calls: number, inflight: number): Promise<number> {
  let issued = 0;
  const t0 = performance.now();
  const lane = async (): Promise<void> => {
    while (issued < calls) {
      issued++;
      await client.call(ControlMethods.status);
    }
  };
  await Promise.all(Array.from({ length: inflight }, lane));
  return (calls * 1000) / (performance.now() - t0);
}

export async function controlBench(opts: { calls: number; rounds: number; inflight: number }): Promise<ControlBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'dirql-bench-control-'));
  const socketPath = join(dir, 'host.sock');
  const child = await startHost(socketPath);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    const client = await ControlClient.connect({ socketPath, clientName: 'bench' });
    try {
      await oneAtATime(client, Math.min(opts.calls, 1000));
      await pipelined(client, Math.min(opts.calls, 1000), opts.inflight);
      const p50: number[] = [];
      const p99: number[] = [];
      const single: number[] = [];
      const piped: number[] = [];
      for (let r = 0; r < opts.rounds; r++) {
        const s = await oneAtATime(client, opts.calls);
        const sum = summarize(s.samples);
        p50.push(sum.p50);
        p99.push(sum.p99);
        single.push(s.callsPerSecond);
        piped.push(await pipelined(client, opts.calls, opts.inflight));
      }
      return {
        ...opts,
        p50Us: round(median(p50), 1),
        p99Us: round(median(p99), 1),
        callsPerSecond: Math.round(median(single)),
        pipelinedCallsPerSecond: Math.round(median(piped)),
      };
    } finally {
      await client.close();
    }
  } finally {
    child.stdin!.end();
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

const { values } = parseArgs({
  options: {
    serve: { type: 'string' },
    calls: { type: 'string' },
    rounds: { type: 'string' },
    inflight: { type: 'string', default: '16' },
    quick: { type: 'boolean', default: false },
  },
});
if (values.serve) {
  await serve(values.serve);
} else {
  const r = await controlBench({
    calls: Number(values.calls ?? (values.quick ? 1000 : 5000)),
    rounds: Number(values.rounds ?? (values.quick ? 2 : 5)),
    inflight: Number(values.inflight),
  });
  console.log(JSON.stringify(r));
}
