/**
 * What a feature of the driver host costs on the data path: two driver hosts side by side, each
 * with its own QEMU and wire peer, one with the feature off (the baseline) and one with it on,
 * measured in alternating rounds like bench/throughput.ts (same warm-up, medians, zero-loss check).
 *
 *   node --import tsx bench/features.ts --feature lockset|trace|record [--dir tx|rx] [--size 64]
 *        [--frames N] [--rounds N] [--warmup N] [--framework ndis6|ndis5|kmdf] [--quick] [--json]
 *
 * lockset: `verifier: { lockset: 'record' }` against no verifier. trace: `trace` (the timeline,
 * its default event limit, written to a temporary directory when the host stops) against none.
 * record: `record` (a session recording, src/record, into the same temporary directory) against none.
 * Both hosts share this process, so V8 sees both kinds of call site: the 'off' side may be a
 * little slower than in a process of its own (bench/lockset.ts notes the same for the verifier).
 *
 * Prints one JSON line last on stdout (the FeatureCostResult).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { DriverHostOptions } from '../src/host/driver-host.ts';
import type { FrameworkName } from '../src/host/frameworks/index.ts';
import { median, round } from './stats.ts';
import { alternateRounds, roundPlan, stackClient, summarise, type Direction, type SideResult, type ThroughputOptions } from './throughput.ts';

/** The features measured here, and the host options that turn each on. */
export const FEATURES = {
  lockset: () => ({ verifier: { lockset: 'record' } }),
  trace: (dir: string) => ({ trace: { path: dir, name: 'bench-trace' } }),
  record: (dir: string) => ({ record: join(dir, 'bench.rec') }),
} as const satisfies Record<string, (dir: string) => Partial<DriverHostOptions>>;
export type FeatureName = keyof typeof FEATURES;

export interface FeatureCostResult {
  feature: FeatureName;
  dir: Direction;
  size: number;
  frames: number;
  rounds: number;
  framework: FrameworkName;
  off: SideResult;
  on: SideResult;
  /** on / off median frames per second (1.0: free). */
  ratio: number;
  /** Median of on/off over the rounds taken back to back. */
  pairedRatio: number;
  /** on / off median CPU per frame of this process. */
  cpuRatio: number;
  valid: boolean;
}

export async function featureCost(feature: FeatureName, opts: Omit<ThroughputOptions, 'host'>): Promise<FeatureCostResult> {
  const plan = roundPlan(opts);
  const framework = opts.framework ?? 'ndis6';
  const traceDir = mkdtempSync(join(tmpdir(), 'dirql-bench-trace-'));
  const off = await stackClient(framework);
  let on: Awaited<ReturnType<typeof stackClient>> | undefined;
  try {
    on = await stackClient(framework, FEATURES[feature](traceDir));
    const { warmups, rounds } = await alternateRounds([off, on], plan);
    const offSide = summarise(rounds[0], warmups[0]);
    const onSide = summarise(rounds[1], warmups[1]);
    return {
      feature,
      dir: opts.dir,
      size: opts.size,
      frames: plan.frames,
      rounds: plan.rounds,
      framework,
      off: offSide,
      on: onSide,
      ratio: round(onSide.framesPerSecond / offSide.framesPerSecond, 3),
      pairedRatio: round(median(rounds[1].map((x, i) => x.framesPerSecond / rounds[0][i]!.framesPerSecond)), 3),
      cpuRatio: round(onSide.cpuUsPerFrame / offSide.cpuUsPerFrame, 2),
      valid: offSide.valid && onSide.valid,
    };
  } finally {
    try {
      await on?.stop();
      await off.stop();
    } finally {
      rmSync(traceDir, { recursive: true, force: true });
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: {
      feature: { type: 'string' },
      dir: { type: 'string', default: 'tx' },
      size: { type: 'string', default: '64' },
      frames: { type: 'string' },
      rounds: { type: 'string' },
      warmup: { type: 'string' },
      framework: { type: 'string', default: 'ndis6' },
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const feature = values.feature as FeatureName;
  if (!(feature in FEATURES)) throw new Error(`--feature must be one of ${Object.keys(FEATURES).join(', ')}, got ${values.feature}`);
  if (values.dir !== 'tx' && values.dir !== 'rx') throw new Error(`--dir must be tx or rx, got ${values.dir}`);
  const r = await featureCost(feature, {
    dir: values.dir,
    size: Number(values.size),
    frames: values.frames ? Number(values.frames) : values.quick ? 10_000 : undefined,
    rounds: values.rounds ? Number(values.rounds) : values.quick ? 1 : undefined,
    warmupFrames: values.warmup ? Number(values.warmup) : values.quick ? 5_000 : undefined,
    framework: values.framework as FrameworkName,
  });
  if (!r.valid) process.stderr.write(`feature ${feature} ${r.dir} ${r.size} B: FRAMES LOST, rates are invalid\n`);
  if (!values.json) {
    const fps = (s: SideResult) => `${(s.framesPerSecond / 1000).toFixed(1)} k frames/s, CPU ${s.cpuUsPerFrame} µs/frame`;
    console.log(`${feature} ${r.dir.toUpperCase()} ${r.size} B: off ${fps(r.off)}; on ${fps(r.on)}; ratio ${r.ratio}× (paired ${r.pairedRatio}×), CPU ${r.cpuRatio}×`);
  }
  console.log(JSON.stringify(r));
}
