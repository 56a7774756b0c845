import { describe, expect, it } from 'vitest';
import { encodePerfetto, PerfettoField as F, perfettoTrackUuid, Timeline, TrackEventType } from '../../../src/timeline/index.ts';
import { asDouble, asMessage, asNumber, asSigned, asString, decodeMessage, fieldsOf, one, type ProtobufField } from '../../support/protobuf-reader.ts';

function clock(): { now: () => number; at: (ms: number) => void } {
  let t = 0;
  return {
    now: () => t,
    at: (ms) => {
      t = ms;
    },
  };
}

function packets(bytes: Uint8Array): ProtobufField[][] {
  const trace = decodeMessage(bytes);
  expect(trace.every((f) => f.field === F.Trace.packet && f.wire === 2)).toBe(true);
  return trace.map((f) => asMessage(f));
}

describe('Perfetto protobuf trace', () => {
  it('decodes as Trace { TracePacket } with one process track, a track per timeline track and a packet per event', () => {
    const c = clock();
    const tl = new Timeline({ name: 'dirql test', processors: 2, now: c.now });
    const cpu0 = tl.processorTrack(0);
    c.at(1);
    tl.counter(tl.irqlTrack(0), 5);
    tl.begin(cpu0, 'E1000Isr', 'isr', { line: 11 });
    c.at(1.5);
    tl.instant(cpu0, 'read ICR', 'register', { register: 'ICR', value: 0x80 });
    c.at(2);
    tl.end(cpu0);
    tl.counter(tl.irqlTrack(0), 0);

    const ps = packets(encodePerfetto(tl, { pid: 4242 }));
    expect(ps).toHaveLength(1 + tl.tracks.length + tl.events.length);
    for (const p of ps) expect(asNumber(one(p, F.TracePacket.trustedPacketSequenceId))).toBe(1);

    const root = asMessage(one(ps[0]!, F.TracePacket.trackDescriptor));
    const proc = asMessage(one(root, F.TrackDescriptor.process));
    expect(asNumber(one(proc, F.ProcessDescriptor.pid))).toBe(4242);
    expect(asString(one(proc, F.ProcessDescriptor.processName))).toBe('dirql test');
    const rootUuid = asNumber(one(root, F.TrackDescriptor.uuid));

    const descriptors = ps.slice(1, 1 + tl.tracks.length).map((p) => asMessage(one(p, F.TracePacket.trackDescriptor)));
    expect(descriptors.map((d) => asString(one(d, F.TrackDescriptor.name)))).toEqual(['CPU 0', 'CPU 0 IRQL', 'CPU 1', 'CPU 1 IRQL']);
    for (const [i, d] of descriptors.entries()) {
      expect(asNumber(one(d, F.TrackDescriptor.uuid))).toBe(perfettoTrackUuid(i));
      expect(asNumber(one(d, F.TrackDescriptor.parentUuid))).toBe(rootUuid);
      expect(one(d, F.TrackDescriptor.counter) !== undefined).toBe(tl.tracks[i]!.counter);
    }

    const events = ps.slice(1 + tl.tracks.length).map((p) => ({ ts: asNumber(one(p, F.TracePacket.timestamp)), e: asMessage(one(p, F.TracePacket.trackEvent)) }));
    expect(events.map((x) => x.ts)).toEqual([1e6, 1e6, 1.5e6, 2e6, 2e6]);
    expect(events.map((x) => asNumber(one(x.e, F.TrackEvent.type)))).toEqual([
      TrackEventType.COUNTER,
      TrackEventType.SLICE_BEGIN,
      TrackEventType.INSTANT,
      TrackEventType.SLICE_END,
      TrackEventType.COUNTER,
    ]);
    expect(asNumber(one(events[0]!.e, F.TrackEvent.trackUuid))).toBe(perfettoTrackUuid(tl.irqlTrack(0)));
    expect(asSigned(one(events[0]!.e, F.TrackEvent.counterValue))).toBe(5n);
    const begin = events[1]!.e;
    expect(asString(one(begin, F.TrackEvent.name))).toBe('E1000Isr');
    expect(asString(one(begin, F.TrackEvent.categories))).toBe('isr');
    expect(asNumber(one(begin, F.TrackEvent.trackUuid))).toBe(perfettoTrackUuid(cpu0));
    const ann = fieldsOf(events[2]!.e, F.TrackEvent.debugAnnotations).map((f) => asMessage(f));
    expect(ann.map((a) => asString(one(a, F.DebugAnnotation.name)))).toEqual(['register', 'value']);
    expect(asString(one(ann[0]!, F.DebugAnnotation.stringValue))).toBe('ICR');
    expect(asNumber(one(ann[1]!, F.DebugAnnotation.intValue))).toBe(0x80);
    expect(one(events[3]!.e, F.TrackEvent.name)).toBeUndefined();
  });

  it('keeps BEGIN/END order for slices with equal timestamps (what the legacy JSON mis-nests)', () => {
    const c = clock();
    const tl = new Timeline({ now: c.now });
    const cpu = tl.processorTrack(0);
    c.at(3);
    tl.begin(cpu, 'DPC', 'dpc');
    tl.begin(cpu, 'ISR', 'isr');
    tl.end(cpu);
    tl.end(cpu);
    const ps = packets(encodePerfetto(tl)).slice(1 + tl.tracks.length);
    const seq = ps.map((p) => {
      const e = asMessage(one(p, F.TracePacket.trackEvent));
      return [asNumber(one(p, F.TracePacket.timestamp)), asNumber(one(e, F.TrackEvent.type)), asString(one(e, F.TrackEvent.name))];
    });
    expect(seq).toEqual([
      [3e6, 1, 'DPC'],
      [3e6, 1, 'ISR'],
      [3e6, 2, undefined],
      [3e6, 2, undefined],
    ]);
  });

  it('encodes timestamps past 2^32 ns, fractional counters as doubles, booleans and negative values', () => {
    const c = clock();
    const tl = new Timeline({ now: c.now });
    const load = tl.track('load', 'host', true);
    const host = tl.track('host');
    c.at(7_200_000); // two hours: 7.2e12 ns
    tl.counter(load, 0.25);
    tl.counter(load, -3);
    tl.instant(host, 'flag', 'host', { ok: true, delta: -2, ratio: 1.5 });
    const ps = packets(encodePerfetto(tl)).slice(1 + tl.tracks.length);
    expect(asNumber(one(ps[0]!, F.TracePacket.timestamp))).toBe(7.2e12);
    const e0 = asMessage(one(ps[0]!, F.TracePacket.trackEvent));
    expect(asDouble(one(e0, F.TrackEvent.doubleCounterValue))).toBe(0.25);
    const e1 = asMessage(one(ps[1]!, F.TracePacket.trackEvent));
    expect(asSigned(one(e1, F.TrackEvent.counterValue))).toBe(-3n);
    const ann = fieldsOf(asMessage(one(ps[2]!, F.TracePacket.trackEvent)), F.TrackEvent.debugAnnotations).map((f) => asMessage(f));
    expect(asNumber(one(ann[0]!, F.DebugAnnotation.boolValue))).toBe(1);
    expect(asSigned(one(ann[1]!, F.DebugAnnotation.intValue))).toBe(-2n);
    expect(asDouble(one(ann[2]!, F.DebugAnnotation.doubleValue))).toBe(1.5);
  });
});
