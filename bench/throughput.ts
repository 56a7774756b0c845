/**
 * Frames per second through the whole stack (the driver host: kernel, framework, e1000 miniport,
 * upper edge, PacketRings) against the raw baseline client (bench/baseline/raw-nic.ts) on the same
 * QEMU build, in one direction and frame size, with zero loss verified at the receiving end.
 * Also the CPU time of this process per frame (user+sys), and QEMU's.
 *
 *   node --import tsx bench/throughput.ts --dir tx|rx --size 64|1514 [--frames N] [--rounds N]
 *        [--warmup N] [--window N (RX in flight)] [--ahead N (TX)] [--framework ndis6|ndis5|kmdf] [--quick] [--json]
 *
 * Both clients run side by side, each with its own QEMU and wire peer, started once; measured
 * rounds alternate raw, stack, raw, stack… (after 200k warm-up frames each) and the medians are
 * compared, so machine noise falls on both. Every round starts and ends with nothing in flight.
 * TX: the client sends batches of 64; the peer counts and checks what QEMU puts on the wire; the
 * client stays at most `txAhead` frames ahead of the peer's count. RX: the peer keeps at most
 * `rxWindow` frames beyond what the client has taken and sends more from the client's delivery
 * callback. The wire peer runs in this process, so the CPU figures include its socket work (the
 * same per frame for both clients: the difference is the stack's own cost).
 *
 * Prints one JSON line last on stdout (the ThroughputResult).
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_PEER_MAC, WirePeer } from '../harness/index.ts';
import { DriverHost, type DriverHostOptions } from '../src/host/driver-host.ts';
import type { FrameworkName } from '../src/host/frameworks/index.ts';
import { RAW_BATCH, RawNic, openRawWithPeer } from './baseline/raw-nic.ts';
import { ReceiveTally, WindowedSource, inBatches, sinkInto, testFrames, type LossReport } from './peer-driver.ts';
import { median, round } from './stats.ts';

export type Direction = 'tx' | 'rx';

export interface ThroughputOptions {
  dir: Direction;
  /** Frame length without FCS: 64 or 1514 in `npm run bench`. */
  size: number;
  /** Frames per measured round. Default 50,000. */
  frames?: number;
  /** Measured rounds per client. Default 5. */
  rounds?: number;
  /**
   * Frames each client sends before the measured rounds, in rounds of `frames` (JIT, QEMU's RCTL
   * timer). Default 200,000: both clients keep speeding up for about that long (the stack, with
   * more code to optimise, for longer), and a shorter warm-up measured the JIT, not the steady state.
   */
  warmupFrames?: number;
  /** RX: frames in flight beyond what the receiver has taken. Default 64. */
  rxWindow?: number;
  /** TX: frames the sender may be ahead of the peer's count. Default 512. */
  txAhead?: number;
  /** A round with no progress for this long has lost frames and ends. Default 2,000 ms. */
  stallMs?: number;
  framework?: FrameworkName;
  /** Driver host settings to try (tuning experiments; `npm run bench` uses the defaults). */
  host?: Partial<DriverHostOptions>;
}

export interface RoundResult {
  framesPerSecond: number;
  wallMs: number;
  /** This process's user+sys CPU time per frame, µs. */
  cpuUsPerFrame: number;
  userUs: number;
  sysUs: number;
  /** This process's CPU time / wall time: 1.0 = one core busy all the round (the client is CPU-bound). */
  cpuLoad: number;
  /** QEMU's user+sys CPU time per frame, µs (10 ms clock ticks: coarse on short rounds). */
  qemuCpuUsPerFrame: number | null;
  loss: LossReport;
}

export interface SideResult {
  /** Medians over the measured rounds. */
  framesPerSecond: number;
  cpuUsPerFrame: number;
  cpuLoad: number;
  qemuCpuUsPerFrame: number | null;
  /** The warm-up and every measured round lost nothing, reordered nothing, corrupted nothing. */
  valid: boolean;
  warmup: LossReport;
  rounds: RoundResult[];
}

export interface StackSideResult extends SideResult {
  framework: FrameworkName;
  /** ISR and DPC calls per 1,000 frames over the measured rounds. */
  isrPerKFrame: number;
  dpcPerKFrame: number;
}

export interface ThroughputResult {
  dir: Direction;
  size: number;
  frames: number;
  rounds: number;
  rxWindow: number;
  txAhead: number;
  raw: SideResult;
  stack: StackSideResult;
  /** stack / raw median frames per second (target ≥ 0.8). */
  ratio: number;
  /** Median of stack/raw over the rounds taken back to back (less sensitive to slow drifts in machine load). */
  pairedRatio: number;
  /** stack / raw median CPU per frame. */
  cpuRatio: number;
  valid: boolean;
}

/** Thrown out of the TX pacing when the peer's count stops moving: frames were lost. */
class Stalled extends Error {}

/** One client under test, with its own QEMU and wire peer. */
export interface Client {
  readonly peer: WirePeer;
  readonly mac: string;
  /** Fed by the peer (TX) or by the client's receive path (RX). */
  readonly tally: ReceiveTally;
  qemuPid(): number | undefined;
  transmit(batches: readonly Buffer[][], pace: (sent: number) => Promise<void> | void): Promise<void>;
  /** Receive until the tally has `total` frames or stalls; the source is started here. */
  receive(source: WindowedSource, total: number, stallMs: number): Promise<boolean>;
  stop(): Promise<void>;
}

const STREAM = 7;

export async function rawClient(): Promise<Client & { raw: RawNic }> {
  const { raw, peer } = await openRawWithPeer();
  const tally = new ReceiveTally(STREAM);
  const unsink = sinkInto(peer, tally);
  return {
    raw,
    peer,
    mac: raw.mac,
    tally,
    qemuPid: () => raw.qemuPid,
    transmit: (batches, pace) => raw.transmit(batches, pace),
    async receive(source, total, stallMs) {
      let stop = false;
      const loop = raw.receive(
        (view, length) => tally.accept(view, length),
        (n) => source.took(n),
        () => stop,
      );
      source.start();
      const ok = await tally.until(total, stallMs);
      stop = true;
      await loop;
      return ok;
    },
    async stop() {
      unsink();
      try {
        await raw.stop();
      } finally {
        await peer.close();
      }
    },
  };
}

export async function stackClient(framework: FrameworkName, options: Partial<DriverHostOptions> = {}): Promise<Client & { host: DriverHost }> {
  const peer = await WirePeer.open({ receiveQueueLimit: 0 });
  let host: DriverHost;
  try {
    host = await DriverHost.start({ ...options, framework, wire: { peerPort: peer.port }, bugCheckDir: join(tmpdir(), 'dirql-bench-crash-reports') });
  } catch (err) {
    await peer.close();
    throw err;
  }
  await peer.connect(host.machine.wire.qemuPort);
  const tally = new ReceiveTally(STREAM);
  const unsink = sinkInto(peer, tally);
  let deliver: ((view: Uint8Array, length: number) => void) | undefined;
  host.onReceive((view, length) => deliver?.(view, length));
  return {
    host,
    peer,
    mac: host.mac,
    tally,
    qemuPid: () => host.machine.stub.pid,
    async transmit(batches, pace) {
      let sent = 0;
      for (const batch of batches) {
        await host.sendAll(batch);
        sent += batch.length;
        await pace(sent);
      }
    },
    async receive(source, total, stallMs) {
      deliver = (view, length) => {
        tally.accept(view, length);
        source.took(1);
      };
      source.start();
      const ok = await tally.until(total, stallMs);
      deliver = undefined;
      return ok;
    },
    async stop() {
      unsink();
      try {
        await host.stop();
      } finally {
        await peer.close();
      }
    },
  };
}

/** user+sys ms of a process from /proc (utime and stime are in 10 ms clock ticks). */
function processCpuMs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

async function measure(client: Client, frames: number, run: () => Promise<boolean>): Promise<RoundResult> {
  const pid = client.qemuPid();
  const q0 = processCpuMs(pid);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await run();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  const q1 = processCpuMs(pid);
  return {
    framesPerSecond: Math.round((frames * 1000) / wallMs),
    wallMs: round(wallMs, 1),
    cpuUsPerFrame: round((cpu.user + cpu.system) / frames, 2),
    userUs: cpu.user,
    sysUs: cpu.system,
    cpuLoad: round((cpu.user + cpu.system) / 1000 / wallMs, 2),
    qemuCpuUsPerFrame: q0 !== null && q1 !== null ? round(((q1 - q0) * 1000) / frames, 2) : null,
    loss: client.tally.report(),
  };
}

export function txRound(client: Client, batches: readonly Buffer[][], total: number, ahead: number, stallMs: number): Promise<RoundResult> {
  const { tally } = client;
  tally.reset(total);
  const waitForPeer = async (sent: number): Promise<void> => {
    if (!(await tally.until(sent - ahead, stallMs))) throw new Stalled();
  };
  const pace = (sent: number): Promise<void> | undefined => (sent - tally.received > ahead ? waitForPeer(sent) : undefined);
  return measure(client, total, async () => {
    try {
      await client.transmit(batches, pace);
    } catch (err) {
      if (err instanceof Stalled) return false;
      throw err;
    }
    return tally.until(total, stallMs);
  });
}

export function rxRound(client: Client, frames: readonly Buffer[], window: number, stallMs: number): Promise<RoundResult> {
  client.tally.reset(frames.length);
  const source = new WindowedSource(client.peer, frames, window);
  return measure(client, frames.length, () => client.receive(source, frames.length, stallMs));
}

export function summarise(rounds: RoundResult[], warmup: LossReport): SideResult {
  const qemu = rounds.map((r) => r.qemuCpuUsPerFrame).filter((v): v is number => v !== null);
  return {
    framesPerSecond: median(rounds.map((r) => r.framesPerSecond)),
    cpuUsPerFrame: median(rounds.map((r) => r.cpuUsPerFrame)),
    cpuLoad: median(rounds.map((r) => r.cpuLoad)),
    qemuCpuUsPerFrame: qemu.length > 0 ? median(qemu) : null,
    valid: warmup.valid && rounds.every((r) => r.loss.valid),
    warmup,
    rounds,
  };
}

/** How two clients are driven against each other: the measured rounds of one direction and size. */
export interface RoundPlan {
  dir: Direction;
  size: number;
  frames: number;
  rounds: number;
  warmup: number;
  rxWindow: number;
  txAhead: number;
  stallMs: number;
}

export interface AlternatedRounds {
  /** Per client: the warm-up's first invalid loss report, else its last. */
  warmups: [LossReport, LossReport];
  rounds: [RoundResult[], RoundResult[]];
}

/**
 * Warms both clients up, then runs the measured rounds alternating a, b, a, b… so machine noise
 * falls on both; `beforeRounds` runs between the two (counters taken over the measured rounds only).
 */
export async function alternateRounds(clients: readonly [Client, Client], plan: RoundPlan, beforeRounds?: () => void): Promise<AlternatedRounds> {
  // One set of frames per distinct MAC (the clients use QEMU's default, so usually one).
  const cache = new Map<string, Buffer[]>();
  const framesFor = (mac: string): Buffer[] => {
    let f = cache.get(mac);
    if (!f) {
      f =
        plan.dir === 'tx'
          ? testFrames({ dst: DEFAULT_PEER_MAC, src: mac, size: plan.size, count: plan.frames, stream: STREAM })
          : testFrames({ dst: mac, src: DEFAULT_PEER_MAC, size: plan.size, count: plan.frames, stream: STREAM });
      cache.set(mac, f);
    }
    return f;
  };
  const runRound = (c: Client, count: number, stall: number): Promise<RoundResult> => {
    const f = framesFor(c.mac).slice(0, count);
    return plan.dir === 'tx' ? txRound(c, inBatches(f, RAW_BATCH), count, plan.txAhead, stall) : rxRound(c, f, plan.rxWindow, stall);
  };

  // Warm-up: JIT, and (RX) QEMU accepts nothing for about 1 s after the RCTL write, hence the longer stall limit.
  const warmups: LossReport[] = [];
  for (const c of clients) {
    let loss: LossReport | undefined;
    for (let sent = 0; sent < plan.warmup; sent += plan.frames) {
      const r = await runRound(c, Math.min(plan.frames, plan.warmup - sent), Math.max(plan.stallMs, 4_000));
      if (!loss || !r.loss.valid) loss = r.loss;
    }
    warmups.push(loss!);
  }
  beforeRounds?.();
  const a: RoundResult[] = [];
  const b: RoundResult[] = [];
  for (let r = 0; r < plan.rounds; r++) {
    a.push(await runRound(clients[0], plan.frames, plan.stallMs));
    b.push(await runRound(clients[1], plan.frames, plan.stallMs));
  }
  return { warmups: [warmups[0]!, warmups[1]!], rounds: [a, b] };
}

/** The plan `opts` asks for, with the defaults filled in. */
export function roundPlan(opts: Pick<ThroughputOptions, 'dir' | 'size' | 'frames' | 'rounds' | 'warmupFrames' | 'rxWindow' | 'txAhead' | 'stallMs'>): RoundPlan {
  return {
    dir: opts.dir,
    size: opts.size,
    frames: opts.frames ?? 50_000,
    rounds: opts.rounds ?? 5,
    warmup: Math.max(1, opts.warmupFrames ?? 200_000),
    rxWindow: opts.rxWindow ?? 64,
    txAhead: opts.txAhead ?? 512,
    stallMs: opts.stallMs ?? 2_000,
  };
}

export async function throughputBench(opts: ThroughputOptions): Promise<ThroughputResult> {
  const plan = roundPlan(opts);
  const framework = opts.framework ?? 'ndis6';

  const raw = await rawClient();
  let stack: Awaited<ReturnType<typeof stackClient>> | undefined;
  try {
    stack = await stackClient(framework, opts.host);
    const host = stack.host;
    let calls0 = host.calls();
    const { warmups, rounds } = await alternateRounds([raw, stack], plan, () => (calls0 = host.calls()));
    const [rawRounds, stackRounds] = rounds;
    const calls1 = host.calls();
    const measured = plan.frames * plan.rounds;

    const rawSide = summarise(rawRounds, warmups[0]);
    const stackSide: StackSideResult = {
      ...summarise(stackRounds, warmups[1]),
      framework,
      isrPerKFrame: round(((calls1.isr - calls0.isr) * 1000) / measured, 1),
      dpcPerKFrame: round(((calls1.dpc - calls0.dpc) * 1000) / measured, 1),
    };
    return {
      dir: opts.dir,
      size: opts.size,
      frames: plan.frames,
      rounds: plan.rounds,
      rxWindow: plan.rxWindow,
      txAhead: plan.txAhead,
      raw: rawSide,
      stack: stackSide,
      ratio: round(stackSide.framesPerSecond / rawSide.framesPerSecond, 3),
      pairedRatio: round(median(stackRounds.map((x, i) => x.framesPerSecond / rawRounds[i]!.framesPerSecond)), 3),
      cpuRatio: round(stackSide.cpuUsPerFrame / rawSide.cpuUsPerFrame, 2),
      valid: rawSide.valid && stackSide.valid,
    };
  } finally {
    await stack?.stop();
    await raw.stop();
  }
}

function describe(r: ThroughputResult): string {
  const side = (name: string, s: SideResult) =>
    `${name.padEnd(6)} ${(s.framesPerSecond / 1000).toFixed(1).padStart(7)} k frames/s  CPU ${s.cpuUsPerFrame.toFixed(2)} µs/frame (load ${s.cpuLoad})  QEMU ${s.qemuCpuUsPerFrame ?? '?'} µs/frame` +
    (s.valid
      ? ''
      : `  INVALID: ${[s.warmup, ...s.rounds.map((x) => x.loss)]
          .filter((x) => !x.valid)
          .map((x) => JSON.stringify(x))
          .join(' ')}`);
  return [
    `${r.dir.toUpperCase()} ${r.size} B, ${r.frames} frames × ${r.rounds} rounds`,
    side('raw', r.raw),
    side('stack', r.stack) + `  ISR ${r.stack.isrPerKFrame}/k frames`,
    `ratio ${r.ratio}× (paired ${r.pairedRatio}×)  CPU ${r.cpuRatio}×${r.valid ? '' : '  (INVALID: frames lost)'}`,
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string', default: 'tx' },
      size: { type: 'string', default: '64' },
      frames: { type: 'string' },
      rounds: { type: 'string' },
      window: { type: 'string' },
      ahead: { type: 'string' },
      warmup: { type: 'string' },
      framework: { type: 'string', default: 'ndis6' },
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  if (values.dir !== 'tx' && values.dir !== 'rx') throw new Error(`--dir must be tx or rx, got ${values.dir}`);
  const result = await throughputBench({
    dir: values.dir,
    size: Number(values.size),
    frames: values.frames ? Number(values.frames) : values.quick ? 10_000 : undefined,
    rounds: values.rounds ? Number(values.rounds) : values.quick ? 1 : undefined,
    warmupFrames: values.warmup ? Number(values.warmup) : values.quick ? 5_000 : undefined,
    rxWindow: values.window ? Number(values.window) : undefined,
    txAhead: values.ahead ? Number(values.ahead) : undefined,
    framework: values.framework as FrameworkName,
  });
  if (!result.valid) process.stderr.write(`throughput ${result.dir} ${result.size} B: FRAMES LOST, rates are invalid\n`);
  if (!values.json) console.log(describe(result));
  console.log(JSON.stringify(result));
}
