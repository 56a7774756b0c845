/**
 * Takes docs/timeline.png: the HTML timeline of a real run (QEMU's e1000, the NDIS 6 miniport on two
 * processors, a few frames each way with a wire peer), in Debian's chromium, opened on the window
 * from the first send's doorbell (the spin lock around its TDT write) to the end of the DPC that
 * completes it.
 *
 *   node --import tsx scripts/timeline-screenshot.ts [out.png]
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TrafficGenerator, WirePeer } from '../harness/index.ts';
import { DriverHost } from '../src/host/driver-host.ts';
import { argsOf, type TimelineEvent } from '../src/timeline/index.ts';
import { launchChromium } from '../test/support/chromium.ts';

const OUT = process.argv[2] ?? join(import.meta.dirname, '..', 'docs', 'timeline.png');
const PEER_MAC = '02:00:00:00:00:01';
const FRAMES = 8;

async function until(what: string, done: () => boolean, ms = 10_000): Promise<void> {
  const end = performance.now() + ms;
  while (!done()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const dir = await mkdtemp(join(tmpdir(), 'dirql-shot-'));
const peer = await WirePeer.open();
const host = await DriverHost.start({ framework: 'ndis6', processors: 2, seed: 7, wire: { peerPort: peer.port }, trace: { path: dir, name: 'ndis6-e1000-2-processors' } });
try {
  await peer.connect(host.machine.wire.qemuPort);
  host.recorder!.watchPeer(peer);
  let received = 0;
  host.onReceive(() => received++);
  await host.sendAll(new TrafficGenerator({ src: host.mac, dst: PEER_MAC, stream: 1, size: 'mixed', seed: 1 }).take(FRAMES));
  await until('the peer to receive', () => peer.counters.framesReceived >= FRAMES);
  await peer.sendBatch(new TrafficGenerator({ src: PEER_MAC, dst: host.mac, stream: 2, size: 'mixed', seed: 2 }).take(FRAMES));
  await until('the host to receive', () => received >= FRAMES);
} finally {
  await host.stop();
  await peer.close();
}

const files = host.traceFiles!;
const events = host.recorder!.timeline.events;
const window = focus(events);
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 560 } });
  await page.goto(`${pathToFileURL(files.html).href}#${(window.from / 1000).toFixed(1)}-${(window.to / 1000).toFixed(1)}`);
  await page.waitForSelector('svg');
  await page.screenshot({ path: OUT, fullPage: true });
} finally {
  await browser.close();
}
console.log(`${OUT}: ${(await stat(OUT)).size} bytes, from ${files.html}`);
await rm(dir, { recursive: true, force: true });

/** From the driver's first doorbell (the TDT write of the first send) to the end of the first DPC after it, with a margin. */
function focus(all: readonly TimelineEvent[]): { from: number; to: number } {
  const sent = all.find((e) => e.type === 'instant' && e.name === 'host sent');
  const doorbell = sent && all.find((e) => e.ts >= sent.ts && e.type === 'instant' && e.category === 'register' && e.name === 'TDT' && argsOf(e.args)?.access === 'write');
  if (!doorbell) throw new Error('no TDT write after the first send in the timeline');
  let from = doorbell.ts;
  let to = from;
  const open = new Map<number, { category: string; ts: number }[]>();
  for (const e of all) {
    if (e.type === 'begin') (open.get(e.track) ?? open.set(e.track, []).get(e.track)!).push({ category: e.category, ts: e.ts });
    if (e.type !== 'end') continue;
    const s = open.get(e.track)?.pop();
    // The lock around the doorbell starts the window; the first DPC to end after it closes it.
    if (s && s.ts <= doorbell.ts && e.ts >= doorbell.ts && s.category === 'lock') from = Math.min(from, s.ts);
    if (s?.category === 'dpc' && e.ts > doorbell.ts) {
      to = e.ts;
      break;
    }
  }
  const margin = Math.max((to - from) * 0.04, 2_000);
  return { from: Math.max(0, from - margin), to: to + margin };
}
