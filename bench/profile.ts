/**
 * A CPU profile of one throughput client in its steady state: warm-up rounds first (the JIT keeps
 * speeding both clients up for about 200k frames), then the V8 profiler over the measured rounds
 * only, so start-up and compilation stay out of it. Open the .cpuprofile in Chrome DevTools
 * (Performance → Load profile) or VS Code.
 *
 *   node --import tsx bench/profile.ts [--client stack|raw] [--dir tx|rx] [--size 64]
 *        [--warmup-rounds 6] [--rounds 3] [--interval-us 100] [--out bench/results/profile.cpuprofile]
 *        [--count-promises] [--feature lockset|trace|record]
 *
 * --count-promises counts the promises created per frame over the measured rounds (an async_hooks
 * init hook) instead of profiling: each is a hop the kernel's AsyncLocalStorage tracks.
 * --feature profiles the stack with a feature on, as bench/features.ts turns it on (its files in a
 * temporary directory, removed at the end).
 *
 * Pin it (`taskset -c 0 node …`) to see what competes with QEMU for one CPU. Sampling slows the
 * stack more than the raw client; compare profiles, not the rates printed while profiling.
 */
import { createHook } from 'node:async_hooks';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Session } from 'node:inspector/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_PEER_MAC } from '../harness/index.ts';
import { RAW_BATCH } from './baseline/raw-nic.ts';
import { FEATURES, type FeatureName } from './features.ts';
import { inBatches, testFrames } from './peer-driver.ts';
import { rawClient, rxRound, stackClient, txRound, type RoundResult } from './throughput.ts';

const FRAMES = 50_000;

const { values } = parseArgs({
  options: {
    client: { type: 'string', default: 'stack' },
    dir: { type: 'string', default: 'tx' },
    size: { type: 'string', default: '64' },
    'warmup-rounds': { type: 'string', default: '6' },
    rounds: { type: 'string', default: '3' },
    'interval-us': { type: 'string', default: '100' },
    out: { type: 'string', default: 'bench/results/profile.cpuprofile' },
    'count-promises': { type: 'boolean', default: false },
    feature: { type: 'string' },
  },
});
if (values.client !== 'stack' && values.client !== 'raw') throw new Error(`--client must be stack or raw, got ${values.client}`);
if (values.dir !== 'tx' && values.dir !== 'rx') throw new Error(`--dir must be tx or rx, got ${values.dir}`);
const size = Number(values.size);

const feature = values.feature;
if (feature !== undefined && !(feature in FEATURES)) throw new Error(`--feature must be one of ${Object.keys(FEATURES).join(', ')}, got ${feature}`);
if (feature !== undefined && values.client !== 'stack') throw new Error('--feature profiles the stack client');
const featureDir = feature ? mkdtempSync(join(tmpdir(), 'dirql-profile-')) : undefined;
const client = values.client === 'raw' ? await rawClient() : await stackClient('ndis6', featureDir ? FEATURES[feature as FeatureName](featureDir) : {});
try {
  const frames =
    values.dir === 'tx'
      ? testFrames({ dst: DEFAULT_PEER_MAC, src: client.mac, size, count: FRAMES, stream: 7 })
      : testFrames({ dst: client.mac, src: DEFAULT_PEER_MAC, size, count: FRAMES, stream: 7 });
  const round = (): Promise<RoundResult> => (values.dir === 'tx' ? txRound(client, inBatches(frames, RAW_BATCH), FRAMES, 512, 4_000) : rxRound(client, frames, 64, 4_000));
  const show = (label: string, r: RoundResult): void =>
    console.log(`${label} ${(r.framesPerSecond / 1000).toFixed(1)} k frames/s, CPU ${r.cpuUsPerFrame} µs/frame${r.loss.valid ? '' : ' (FRAMES LOST)'}`);

  for (let i = 0; i < Number(values['warmup-rounds']); i++) show('warm-up ', await round());
  if (values['count-promises']) {
    let promises = 0;
    const hook = createHook({
      init(_id, type) {
        if (type === 'PROMISE') promises++;
      },
    }).enable();
    const rounds = Number(values.rounds);
    for (let i = 0; i < rounds; i++) show('counted ', await round());
    hook.disable();
    console.log(`promises per frame: ${(promises / (rounds * FRAMES)).toFixed(3)} (${promises} in ${rounds} rounds of ${FRAMES} frames)`);
  } else {
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: Number(values['interval-us']) });
    await session.post('Profiler.start');
    for (let i = 0; i < Number(values.rounds); i++) show('profiled', await round());
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    mkdirSync(dirname(values.out), { recursive: true });
    writeFileSync(values.out, JSON.stringify(profile));
    console.log(`wrote ${values.out}`);
  }
} finally {
  await client.stop();
  if (featureDir) rmSync(featureDir, { recursive: true, force: true });
}
