/**
 * A traced run on QEMU's real e1000: the NDIS 6 miniport on two processors exchanges frames with a
 * wire peer while DriverHost records its timeline; the Perfetto file is decoded with the test's own
 * protobuf reader and the HTML page is opened in Debian's chromium.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PerfettoField as F, TrackEventType, type TimelineFiles } from '../../src/timeline/index.ts';
import { launchChromium } from '../support/chromium.ts';
import { asMessage, asNumber, asSigned, asString, decodeMessage, fieldsOf, one, type ProtobufField } from '../support/protobuf-reader.ts';
import { closeHostWithPeer, openHostWithPeer, receiveFromPeer, sendToPeer, type HostWithPeer } from './support/e1000-exchange.ts';

const FRAMES = 200;

interface DecodedEvent {
  ts: number;
  track: string;
  type: number;
  name: string | undefined;
  category: string | undefined;
  counter: bigint | undefined;
  args: Map<string, ProtobufField[]>;
}

/** The trace's tracks by uuid and its events in file order, from the wire format alone. */
function decodeTrace(bytes: Uint8Array): { tracks: Map<number, { name: string; counter: boolean }>; events: DecodedEvent[] } {
  const tracks = new Map<number, { name: string; counter: boolean }>();
  const events: DecodedEvent[] = [];
  for (const p of decodeMessage(bytes).map((f) => {
    expect(f.field).toBe(F.Trace.packet);
    return asMessage(f);
  })) {
    expect(asNumber(one(p, F.TracePacket.trustedPacketSequenceId))).toBe(1);
    const d = one(p, F.TracePacket.trackDescriptor);
    if (d) {
      const desc = asMessage(d);
      const name = asString(one(desc, F.TrackDescriptor.name));
      if (name !== undefined) tracks.set(asNumber(one(desc, F.TrackDescriptor.uuid))!, { name, counter: one(desc, F.TrackDescriptor.counter) !== undefined });
      continue;
    }
    const e = asMessage(one(p, F.TracePacket.trackEvent));
    const track = tracks.get(asNumber(one(e, F.TrackEvent.trackUuid))!);
    expect(track, 'every event is on a described track').toBeDefined();
    const args = new Map<string, ProtobufField[]>();
    for (const a of fieldsOf(e, F.TrackEvent.debugAnnotations).map((f) => asMessage(f))) args.set(asString(one(a, F.DebugAnnotation.name))!, a);
    events.push({
      ts: asNumber(one(p, F.TracePacket.timestamp))!,
      track: track!.name,
      type: asNumber(one(e, F.TrackEvent.type))!,
      name: asString(one(e, F.TrackEvent.name)),
      category: asString(one(e, F.TrackEvent.categories)),
      counter: asSigned(one(e, F.TrackEvent.counterValue)),
      args,
    });
  }
  return { tracks, events };
}

describe('timeline of a real run (NDIS 6 e1000 on QEMU, 2 processors, traced)', () => {
  let f: HostWithPeer | undefined;
  let dir: string;
  let files: TimelineFiles;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dirql-timeline-run-'));
    f = await openHostWithPeer('dirql-timeline-', { framework: 'ndis6', processors: 2, seed: 7, trace: { path: dir, name: 'ndis6-exchange' } });
    f.host.recorder!.watchPeer(f.peer);
    await sendToPeer(f.host, f.peer, FRAMES, 21);
    await receiveFromPeer(f.host, f.peer, FRAMES, 22);
    await f.host.stop();
    files = f.host.traceFiles!;
  });

  afterAll(async () => {
    await closeHostWithPeer(f);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes <name>.perfetto-trace and <name>.html where it was told to', () => {
    expect(files).toEqual({ perfetto: join(dir, 'ndis6-exchange.perfetto-trace'), html: join(dir, 'ndis6-exchange.html') });
  });

  it('decodes as a Perfetto trace: per-processor tracks, nested ISR and DPC slices, IRQL counters, named registers, line edges, wire frames', async () => {
    const { tracks, events } = decodeTrace(await readFile(files.perfetto));
    const names = [...tracks.values()].map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['CPU 0', 'CPU 0 IRQL', 'CPU 1', 'CPU 1 IRQL', 'IRQ lines', 'host rings', 'wire peer']));
    expect([...tracks.values()].filter((t) => t.counter).map((t) => t.name)).toEqual(['CPU 0 IRQL', 'CPU 1 IRQL']);

    // Time never runs backwards, and every track's slices nest (each END closes an open BEGIN).
    expect(events.every((e, i) => i === 0 || e.ts >= events[i - 1]!.ts)).toBe(true);
    const depth = new Map<string, number>();
    for (const e of events) {
      if (e.type === TrackEventType.SLICE_BEGIN) depth.set(e.track, (depth.get(e.track) ?? 0) + 1);
      if (e.type === TrackEventType.SLICE_END) {
        expect(depth.get(e.track) ?? 0, `END without BEGIN on ${e.track}`).toBeGreaterThan(0);
        depth.set(e.track, depth.get(e.track)! - 1);
      }
    }
    expect([...depth.values()].every((d) => d === 0)).toBe(true);

    const begins = events.filter((e) => e.type === TrackEventType.SLICE_BEGIN);
    for (const c of ['isr', 'dpc', 'lock'])
      expect(
        begins.some((e) => e.category === c && /^CPU \d$/.test(e.track)),
        `${c} slices`,
      ).toBe(true);

    const irql = events.filter((e) => e.type === TrackEventType.COUNTER).map((e) => Number(e.counter));
    expect(irql).toContain(0);
    expect(irql).toContain(2);
    expect(Math.max(...irql)).toBeGreaterThan(2);

    const instants = events.filter((e) => e.type === TrackEventType.INSTANT);
    const icr = instants.filter((e) => e.category === 'register' && e.name === 'ICR');
    expect(icr.length).toBeGreaterThan(0);
    expect(asString(one(icr[0]!.args.get('access')!, F.DebugAnnotation.stringValue))).toBe('read');
    expect(icr.some((e) => asNumber(one(e.args.get('value')!, F.DebugAnnotation.intValue))! !== 0)).toBe(true);
    expect(instants.some((e) => e.category === 'register' && e.name === 'TDT')).toBe(true);

    const edges = instants.filter((e) => e.track === 'IRQ lines').map((e) => e.name);
    expect(edges.some((n) => n?.endsWith(' asserted'))).toBe(true);
    expect(edges.some((n) => n?.endsWith(' deasserted'))).toBe(true);

    const wire = (name: string) => instants.filter((e) => e.category === 'wire' && e.name === name).length;
    expect(wire('host sent')).toBe(FRAMES);
    expect(wire('host received')).toBe(FRAMES);
    expect(wire('peer received')).toBeGreaterThanOrEqual(FRAMES);
  });

  it('opens in Debian chromium: a lane per track, slices and instants drawn, no errors, no network', { timeout: 60_000 }, async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 600 } });
      const failed: string[] = [];
      page.on('pageerror', (e) => failed.push(e.message));
      page.on('request', (r) => {
        if (!r.url().startsWith('file:')) failed.push(`network request ${r.url()}`);
      });
      await page.goto(pathToFileURL(files.html).href);
      await page.waitForSelector('svg');
      expect(failed).toEqual([]);
      const labels = await page.locator('text.lane-label').allTextContents();
      expect(labels).toEqual(expect.arrayContaining(['CPU 0', 'CPU 0 IRQL', 'CPU 1', 'CPU 1 IRQL', 'IRQ lines', 'host rings', 'wire peer']));
      expect(await page.locator('rect.slice.isr').count()).toBeGreaterThan(0);
      expect(await page.locator('rect.slice.dpc').count()).toBeGreaterThan(0);
      expect(await page.locator('path.irql').count()).toBe(2);
      expect(await page.locator('line.instant.register').count()).toBeGreaterThan(0);
      expect(await page.locator('line.instant.wire').count()).toBeGreaterThan(0);
      expect(await page.title()).toBe('ndis6-exchange');
    } finally {
      await browser.close();
    }
  });
});
