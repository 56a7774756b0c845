import { writeFile } from 'node:fs/promises';
import { ProtobufWriter } from './protobuf-writer.ts';
import { argsOf, type Timeline, type TimelineArgs, type TimelineEvent, type TimelineTrack } from './timeline.ts';

// A Timeline as a Perfetto trace in its protobuf TrackEvent format, which Perfetto recommends over
// the legacy JSON (that one mis-nests events with equal timestamps; explicit BEGIN/END packets on a
// track do not). Field numbers are Perfetto's, from protos/perfetto/trace/trace.proto,
// trace_packet.proto and track_event/{track_event,track_descriptor,counter_descriptor,
// process_descriptor,debug_annotation}.proto.

export const PerfettoField = {
  Trace: { packet: 1 },
  TracePacket: { timestamp: 8, trustedPacketSequenceId: 10, trackEvent: 11, trackDescriptor: 60 },
  TrackDescriptor: { uuid: 1, name: 2, process: 3, parentUuid: 5, counter: 8 },
  ProcessDescriptor: { pid: 1, processName: 6 },
  CounterDescriptor: { unit: 3 },
  TrackEvent: { debugAnnotations: 4, type: 9, trackUuid: 11, categories: 22, name: 23, counterValue: 30, doubleCounterValue: 44 },
  DebugAnnotation: { boolValue: 2, intValue: 4, doubleValue: 5, stringValue: 6, name: 10 },
} as const;

/** TrackEvent.Type. */
export const TrackEventType = { SLICE_BEGIN: 1, SLICE_END: 2, INSTANT: 3, COUNTER: 4 } as const;

/** CounterDescriptor.Unit.UNIT_COUNT. */
const UNIT_COUNT = 2;
/** All our packets come from one writer: one sequence. */
const SEQUENCE_ID = 1;
const PROCESS_TRACK_UUID = 1;
const TRACK_UUID_BASE = 100;

export interface PerfettoOptions {
  /** The process the tracks hang under (the driver host's pid by default). */
  readonly pid?: number;
}

/** The uuid a Timeline track gets in the trace. */
export function perfettoTrackUuid(track: number): number {
  return TRACK_UUID_BASE + track;
}

/** Encode `timeline` as a Perfetto `Trace` message (what `.perfetto-trace` files hold). */
export function encodePerfetto(timeline: Timeline, opts: PerfettoOptions = {}): Uint8Array {
  const F = PerfettoField;
  const trace = new ProtobufWriter();
  const packet = (fill: (p: ProtobufWriter) => void): void => {
    const p = new ProtobufWriter();
    fill(p);
    p.varint(F.TracePacket.trustedPacketSequenceId, SEQUENCE_ID);
    trace.message(F.Trace.packet, p);
  };

  packet((p) => {
    const host = new ProtobufWriter().varint(F.ProcessDescriptor.pid, opts.pid ?? process.pid).string(F.ProcessDescriptor.processName, timeline.name);
    p.message(F.TracePacket.trackDescriptor, new ProtobufWriter().varint(F.TrackDescriptor.uuid, PROCESS_TRACK_UUID).message(F.TrackDescriptor.process, host));
  });
  for (const t of timeline.tracks) packet((p) => p.message(F.TracePacket.trackDescriptor, trackDescriptor(t)));
  for (const e of timeline.events) {
    packet((p) => {
      p.varint(F.TracePacket.timestamp, e.ts);
      p.message(F.TracePacket.trackEvent, trackEvent(e));
    });
  }
  return trace.finish();
}

/** Write `timeline` to `file` as a Perfetto protobuf trace (open it at ui.perfetto.dev). */
export async function writePerfettoTrace(timeline: Timeline, file: string, opts: PerfettoOptions = {}): Promise<void> {
  await writeFile(file, encodePerfetto(timeline, opts));
}

function trackDescriptor(t: TimelineTrack): ProtobufWriter {
  const F = PerfettoField.TrackDescriptor;
  const d = new ProtobufWriter().varint(F.uuid, perfettoTrackUuid(t.id)).varint(F.parentUuid, PROCESS_TRACK_UUID).string(F.name, t.name);
  if (t.counter) d.message(F.counter, new ProtobufWriter().varint(PerfettoField.CounterDescriptor.unit, UNIT_COUNT));
  return d;
}

function trackEvent(e: TimelineEvent): ProtobufWriter {
  const F = PerfettoField.TrackEvent;
  const w = new ProtobufWriter().varint(F.trackUuid, perfettoTrackUuid(e.track));
  switch (e.type) {
    case 'begin':
    case 'instant': {
      w.varint(F.type, e.type === 'begin' ? TrackEventType.SLICE_BEGIN : TrackEventType.INSTANT);
      w.string(F.categories, e.category).string(F.name, e.name);
      const args = argsOf(e.args);
      if (args) for (const [k, v] of Object.entries(args)) w.message(F.debugAnnotations, annotation(k, v));
      break;
    }
    case 'end':
      w.varint(F.type, TrackEventType.SLICE_END);
      break;
    case 'counter':
      w.varint(F.type, TrackEventType.COUNTER);
      if (Number.isSafeInteger(e.value)) w.varint(F.counterValue, e.value);
      else w.double(F.doubleCounterValue, e.value);
      break;
  }
  return w;
}

function annotation(name: string, value: TimelineArgs[string]): ProtobufWriter {
  const F = PerfettoField.DebugAnnotation;
  const a = new ProtobufWriter().string(F.name, name);
  if (typeof value === 'boolean') a.varint(F.boolValue, value);
  else if (typeof value === 'string') a.string(F.stringValue, value);
  else if (Number.isSafeInteger(value)) a.varint(F.intValue, value);
  else a.double(F.doubleValue, value);
  return a;
}
