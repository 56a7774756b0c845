/**
 * Where one RX interrupt's time goes, step by step: the wire peer sends one 64 B frame to an idle
 * NDIS 6 e1000 host (real QEMU) and every qtest line, IRQ edge and kernel trace event until the
 * frame is delivered above the upper edge is stamped (µs from the send). Prints the median time of
 * each step over the samples, and one sample's full timeline.
 *
 *   node --import tsx bench/rx-timeline.ts [--samples N] [--warmup N]
 *
 * The first `--warmup` frames (default 2,000) go back to back and are not kept, as in
 * bench/latency.ts, so the steps are those of optimised code.
 *
 * A diagnostic for docs/performance.md, not a row of the bench table: the stamps themselves cost a
 * little, so its totals sit slightly above bench/latency.ts's.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { WirePeer } from '../harness/index.ts';
import { DriverHost } from '../src/host/driver-host.ts';
import type { QtestTap } from '../src/transport/qtest-client.ts';
import { testFrames } from './peer-driver.ts';
import { round, summarize } from './stats.ts';

const { values } = parseArgs({ options: { samples: { type: 'string', default: '500' }, warmup: { type: 'string', default: '2000' } } });
const samples = Number(values.samples);
const warmup = Number(values.warmup);

const peer = await WirePeer.open({ receiveQueueLimit: 0 });
const host = await DriverHost.start({ framework: 'ndis6', wire: { peerPort: peer.port }, bugCheckDir: join(tmpdir(), 'dirql-bench-crash-reports') });
await peer.connect(host.machine.wire.qemuPort);

let t0: number | undefined;
let steps: Array<[string, number]> = [];
// Step names without values, so the same step of every sample lines up.
const stamp = (what: string) => {
  if (t0 !== undefined) steps.push([what, (performance.now() - t0) * 1000]);
};
const tap: QtestTap = {
  command: (c) => stamp(`> ${c.split(' ').slice(0, 2).join(' ')}`),
  reply: (r) => stamp(`< ${r.split(' ')[0]}`),
  irq: (line, raised) => stamp(`IRQ ${line} ${raised ? 'raise' : 'lower'}`),
};
host.machine.qtest.tap = tap;
const trace = host.kernel.trace;
const record = trace.record;
trace.record = function (kind: string, detail: string, processor?: number): void {
  stamp(`[${kind}] ${detail.split(' ').slice(0, 2).join(' ')}`);
  record.call(this, kind, detail, processor);
};
let delivered: () => void = () => {};
host.onReceive(() => {
  stamp('delivered above the upper edge');
  delivered();
});

const frames = testFrames({ dst: host.mac, src: '02:00:00:00:00:09', size: 64, count: warmup + samples, stream: 9 });
const byStep = new Map<string, number[]>();
let example: Array<[string, number]> = [];
for (let i = 0; i < warmup + samples; i++) {
  steps = [];
  // The gap comes before a kept sample, so the first after the warm-up starts idle too.
  if (i >= warmup) await sleep(1);
  const arrived = new Promise<void>((r) => (delivered = r));
  t0 = performance.now();
  peer.send(frames[i]!);
  await arrived;
  const upTo = steps.findIndex(([s]) => s === 'delivered above the upper edge');
  t0 = undefined;
  if (i < warmup) continue;
  const seen = new Map<string, number>();
  for (const [s, us] of steps.slice(0, upTo + 1)) {
    const n = (seen.get(s) ?? 0) + 1;
    seen.set(s, n);
    const key = n === 1 ? s : `${s} #${n}`;
    (byStep.get(key) ?? byStep.set(key, []).get(key)!).push(us);
  }
  if (i === warmup + samples - 1) example = steps;
}
await host.stop();
await peer.close();

const rows = [...byStep.entries()]
  .filter(([, v]) => v.length >= samples / 2)
  .map(([step, v]) => ({ step, 'p50 µs': round(summarize(v).p50, 1), samples: v.length }))
  .sort((a, b) => a['p50 µs'] - b['p50 µs']);
console.log(`RX 64 B, one frame at a time, ${samples} samples (median µs from the peer's send to each step)`);
console.table(rows);
console.log('one sample (the last), µs from the send:');
for (const [s, us] of example) console.log(`${us.toFixed(0).padStart(6)}  ${s}`);
