import fs from 'node:fs';
import { crc32 } from 'node:zlib';
import type { TimeCheck } from '../kernel/index.ts';
import { ChunkFile } from './chunk-file.ts';
import { MemoryShadow } from './memory-shadow.ts';
import { RECORD_PREFIX, RecordEncoder, packr } from './encoder.ts';
import { RecordingCorruptError, RecordingTruncatedError, RecordingVersionError } from './errors.ts';

/**
 * A dirql recording: the 8-byte magic `DIRQLREC`, then records, each `u32le length, u32le crc32,
 * msgpack payload`. The first record is the header, the last the trailer; a file without a trailer
 * was cut off. Each record is an array whose first element is its kind (`RecordKind`), which keeps
 * a 10,000-frame session small (see README.md).
 */
export const RECORDING_FORMAT = 'dirql-recording';
/** 2: host inputs (kind 9) and timer expirations (kind 10) added, so a whole session replays. 3: the scheduler's seeded choices (kind 6, `[6, 'of n', option]`) are written, so sessions on several processors replay. 4: the kernel's decisions on time (kind 5, `[5, check, call, ms]`: the DPC watchdog, the verifier's limits, KMDF's drain timeout) are written, and the watchdog's timer is a kernel timer (kind 10). 5: memory reads are written as the bytes that changed since the last read of the same memory (kind 11, `[11, addr, length, changes]`); the reader gives them back whole (kind 4). 6: the driver's time readings (kind 12) and the boot time. 7: every choice of the processor a thread starts on is written, one candidate too, labelled by the processor (`[6, 'of 2: processor 1', 1]`), and a replay takes it where the recording did. 8: the host's surprise removal of the NIC (`[9, 'remove']` where it starts, `[9, 'ejected']` where the eject ended and the framework's removal path begins), so a session that lost its NIC replays; the send path hands out nothing past its last recorded batch; the KMDF edge's read top-ups (`[9, 'reads', count, published]`), so a session whose RX ring filled replays. 9: the host's takes from the RX ring (`[9, 'delivered', count, published]`: `count` frames delivered to its listeners when the upper edge had published `published`), so a replay's RX ring fills and drops as the recorded one did. 10: on several processors, a processor's start on its pending work (an interrupt or a DPC for a processor that runs nothing: Preemption.scheduleService) is a scheduler turn of its own, `[6, 'of 1: service@1', 0]`, so a replay starts it where the session did among the other turns. */
export const RECORDING_VERSION = 10;
/** Versions this reader reads: 4 holds nothing 5 does not (kind 11 is only new); before 7, processor choices are `of n` and only those among several; 8 only adds `[9, 'remove']`, `[9, 'ejected']` and `[9, 'reads', count, published]`; 9 only `[9, 'delivered', count, published]`; 10 only service turns. */
const READABLE_VERSIONS: readonly number[] = [4, 5, 6, 7, 8, 9, 10];
const MAGIC = Buffer.from('DIRQLREC', 'latin1');
/** Larger than any record dirql writes (a guest-memory read is at most a few KiB); a bigger length is corruption. */
const MAX_RECORD = 64 * 1024 * 1024;

export interface RecordingHeader {
  format: typeof RECORDING_FORMAT;
  version: number;
  dirqlVersion: string;
  /** The session's configuration (framework, seed, processors, driver module, …): what replay needs to build the same stack. */
  config: Record<string, unknown>;
  /** The driver's identity: sha256 of its module's resolved path and content, or of the built-in variant's name. */
  driverHash: string;
  startedAt: string;
  /** When the recorded machine booted (ms since the Unix epoch): the driver's system-time readings count from it (version 6). */
  bootMs?: number;
}

export interface RecordingTrailer {
  events: number;
  /** The driver counters at the end of the session: replay must reach the same ones. */
  counters: Record<string, unknown>;
  /** The bug check's name when the session ended in one. */
  bugCheck?: string;
  /** What a replay must reach again: the bug check's code, parameters, message and routine chain. */
  bugCheckReport?: BugCheckSummary;
  /** How long the session ran, from the recording's start to the trailer (ms). */
  durationMs?: number;
  /**
   * An explore run's: the decisions the recorded run took, which may be fewer than the schedule
   * it was given (the header's `config.explore.decisions`) when the device's timing on QEMU left a
   * decision point out. A replay takes these.
   */
  decisions?: readonly (readonly [kind: string, options: number, choice: number])[];
}

/** The parts of a bug check report a replay reproduces (not its time, trace or JS stacks). */
export interface BugCheckSummary {
  code: number;
  name: string;
  parameters: readonly number[];
  message: string;
  routines: string[];
}

/** Event kinds, as stored (the first element of each record). */
export const enum RecordKind {
  Header = 0,
  /** A qtest command line, in the order sent: [kind, line]. */
  Command = 1,
  /** A qtest reply line, in the order received: [kind, line]. */
  Reply = 2,
  /** An IRQ line edge at its position among the replies: [kind, line, raised]. */
  Irq = 3,
  /** A guest-memory read the driver made: [kind, addr, bytes]. */
  MemoryRead = 4,
  /** A time limit the kernel found exceeded: [kind, check, call, ms] (`check`'s `call`-th decision measured `ms`). */
  Time = 5,
  /** A scheduler decision: [kind, decisionKind, option]. */
  Schedule = 6,
  /** A frame on the UDP wire, at its position: [kind, 'toNic' | 'fromNic', bytes] (explore runs whose scenario opens the wire; wire-tap.ts). */
  Wire = 7,
  Trailer = 8,
  /** What the host did to the driver, at its position: [kind, 'send', frames] (frames taken into the TX ring), [kind, 'receive'] (the first onReceive listener), [kind, 'stats'], [kind, 'remove'] and [kind, 'ejected'] (a surprise removal started, the NIC ejected; version 8), [kind, 'stop']; and [kind, 'take', count] (the upper edge handed `count` frames from the TX ring to the driver), [kind, 'reads', count, published] (the KMDF edge handed `count` read requests to the driver, having published `published` frames; version 8), [kind, 'delivered', count, published] (the host took `count` frames from the RX ring for its listeners, the upper edge having published `published`; version 9). */
  Host = 9,
  /** A kernel timer expired (its DPC was queued), at its position: [kind, timerName]. */
  TimerExpired = 10,
  /** A guest-memory read as written (version 5): [kind, addr, length, changes], the runs that changed since memory was last read (memory-shadow.ts); read back as kind 4. */
  MemoryChanges = 11,
  /** A time reading the driver made (KeQueryInterruptTime, KeQuerySystemTime, …), in order: [kind, ms since boot] (version 6). */
  TimeReading = 12,
}

/** A scheduler choice's decision kind in a Schedule record: among how many options, and the one taken when it has a label (`of 2: dpc:MiniportInterruptDPC@1`). */
export function choiceKind(n: number, label?: string): string {
  return label === undefined ? `of ${n}` : `of ${n}: ${label}`;
}

/** The label a decision kind names (`of 2: dpc:MiniportInterruptDPC@1` → `dpc:MiniportInterruptDPC@1`); undefined for `of n`. */
export function choiceLabel(kind: string): string | undefined {
  const at = kind.indexOf(': ');
  return at < 0 ? undefined : kind.slice(at + 2);
}

/** The highest kind a reader of this version knows. */
const LAST_KIND = RecordKind.TimeReading;

/** The host's inputs that carry nothing but their place: its first receive listener, a statistics read, a surprise removal's start and the end of its eject (version 8), its stop. */
export type HostOp = 'receive' | 'stats' | 'remove' | 'ejected' | 'stop';

/** The host's inputs whose counts a replay repeats (HandOutLog): the send path's batches, the KMDF edge's read top-ups, the host's takes from the RX ring. */
export type HandOutKind = 'take' | 'reads' | 'delivered';

export function isHandOut(op: string): op is HandOutKind {
  return op === 'take' || op === 'reads' || op === 'delivered';
}

/** A hand-out in words, as divergences and stall reports give it. */
export function describeHandOut(kind: HandOutKind, count: number): string {
  switch (kind) {
    case 'take':
      return `the send path handed ${count} frame(s) to the driver`;
    case 'reads':
      return `the KMDF edge handed ${count} read request(s) to the driver`;
    case 'delivered':
      return `the host took ${count} received frame(s) from the RX ring`;
  }
}

/**
 * What reaches the driver from outside, at its place in the stream: a reply, an IRQ line, a timer
 * expiry, a wire frame, a scheduler decision, a host input other than a hand-out (those have their
 * own logs). Not the driver's own commands, memory reads and time readings.
 */
export function isDriverInput(e: RecordEvent): boolean {
  switch (e[0]) {
    case RecordKind.Reply:
    case RecordKind.Irq:
    case RecordKind.TimerExpired:
    case RecordKind.Wire:
    case RecordKind.Schedule:
      return true;
    case RecordKind.Host:
      return !isHandOut(e[1]);
    default:
      return false;
  }
}

export type RecordEvent =
  | [RecordKind.Command, string]
  | [RecordKind.Reply, string]
  | [RecordKind.Irq, number, boolean]
  | [RecordKind.MemoryRead, number, Uint8Array]
  | [RecordKind.Time, TimeCheck, number, number]
  | [RecordKind.Schedule, string, number]
  | [RecordKind.Wire, 'toNic' | 'fromNic', Uint8Array]
  | [RecordKind.Host, 'send', Uint8Array[]]
  | [RecordKind.Host, HostOp]
  | [RecordKind.Host, 'take', number]
  | [RecordKind.Host, 'reads', number, number]
  | [RecordKind.Host, 'delivered', number, number]
  | [RecordKind.TimerExpired, string]
  | [RecordKind.TimeReading, number];

/**
 * Writes a recording: `event()` (and the hot kinds' own methods) encodes each record into a
 * preallocated 1 MiB chunk (encoder.ts), which is written to the file when full (chunk-file.ts,
 * in the background), so the session never waits on the disk.
 */
export class RecordingWriter {
  private readonly out: ChunkFile;
  private readonly encoder: RecordEncoder;
  private readonly shadow = new MemoryShadow();
  private readonly runs: number[] = [];
  private count = 0;
  private closed: Promise<void> | undefined;

  constructor(
    readonly file: string,
    header: Omit<RecordingHeader, 'format' | 'version'>,
  ) {
    this.out = new ChunkFile(file);
    this.encoder = new RecordEncoder((chunk, done) => this.out.write(chunk, done));
    this.encoder.raw(MAGIC);
    this.encoder.packed([RecordKind.Header, { format: RECORDING_FORMAT, version: RECORDING_VERSION, ...header }]);
  }

  get events(): number {
    return this.count;
  }

  /** Any record: the hot kinds through their own methods below, the others through `pack()`. */
  event(e: RecordEvent): void {
    switch (e[0]) {
      case RecordKind.Command:
      case RecordKind.Reply:
        this.line(e[0], e[1]);
        return;
      case RecordKind.Irq:
        this.irq(e[1], e[2]);
        return;
      case RecordKind.MemoryRead:
        this.memoryRead(e[1], e[2]);
        return;
      default:
        if (e[0] === RecordKind.Host && e[1] === 'send') this.sent(e[2]);
        else {
          this.count++;
          this.encoder.packed(e);
        }
    }
  }

  /** `[Command, line]` or `[Reply, line]`, without building the array. */
  line(kind: RecordKind.Command | RecordKind.Reply, line: string): void {
    this.count++;
    this.encoder.string(kind, line);
  }

  irq(line: number, raised: boolean): void {
    this.count++;
    this.encoder.irq(RecordKind.Irq, line, raised);
  }

  /**
   * A memory read, as what changed since (kind 11): copied into the chunk before this returns, so
   * the caller may reuse `bytes`. With `used`, only those parts of it (GuestMemory.readInto).
   */
  memoryRead(addr: number, bytes: Uint8Array, used?: readonly number[]): void {
    this.count++;
    this.shadow.changes(addr, bytes, this.runs, used);
    this.encoder.memoryChanges(RecordKind.MemoryChanges, addr, bytes, this.runs);
  }

  /** The frames a send took into the TX ring, copied into the chunk before this returns. */
  sent(frames: readonly Uint8Array[]): void {
    this.count++;
    this.encoder.frames(RecordKind.Host, 'send', frames);
  }

  /** Writes the trailer and closes the file; once. */
  close(trailer: Omit<RecordingTrailer, 'events'>): Promise<void> {
    if (!this.closed) {
      this.encoder.packed([RecordKind.Trailer, { events: this.count, ...trailer }]);
      this.encoder.flush();
      this.closed = this.out.close();
    }
    return this.closed;
  }
}

export interface Recording {
  file: string;
  header: RecordingHeader;
  events: RecordEvent[];
  trailer: RecordingTrailer;
}

/** Reads a whole recording; a truncated, corrupt or version-mismatched file throws its typed error. */
export function readRecording(file: string): Recording {
  return parseRecording(fs.readFileSync(file), file);
}

export function parseRecording(buf: Buffer, file = '<buffer>'): Recording {
  if (buf.length < MAGIC.length || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    if (buf.length < MAGIC.length && MAGIC.subarray(0, buf.length).equals(buf)) {
      throw new RecordingTruncatedError(`${file}: a dirql recording cut off inside its magic (${buf.length} bytes)`, { file, offset: buf.length });
    }
    throw new RecordingCorruptError(`${file}: not a dirql recording (no DIRQLREC magic)`, { file, offset: 0 });
  }
  let offset = MAGIC.length;
  let header: RecordingHeader | undefined;
  const events: RecordEvent[] = [];
  const shadow = new MemoryShadow();
  while (offset < buf.length) {
    if (offset + RECORD_PREFIX > buf.length) break;
    const length = buf.readUInt32LE(offset);
    const sum = buf.readUInt32LE(offset + 4);
    if (length > MAX_RECORD) throw new RecordingCorruptError(`${file}: record at byte ${offset} claims ${length} bytes`, { file, offset, length });
    if (offset + RECORD_PREFIX + length > buf.length) break;
    const body = buf.subarray(offset + RECORD_PREFIX, offset + RECORD_PREFIX + length);
    if (crc32(body) !== sum) throw new RecordingCorruptError(`${file}: record ${events.length} at byte ${offset} fails its checksum`, { file, offset, index: events.length });
    let rec: unknown;
    try {
      rec = packr.unpack(body);
    } catch (err) {
      throw new RecordingCorruptError(`${file}: record at byte ${offset} does not decode`, { file, offset }, { cause: err });
    }
    if (!Array.isArray(rec) || typeof rec[0] !== 'number') throw new RecordingCorruptError(`${file}: record at byte ${offset} is not an event`, { file, offset });
    const kind = rec[0] as RecordKind;
    if (header === undefined) {
      if (kind !== RecordKind.Header) throw new RecordingCorruptError(`${file}: the first record is not a header`, { file, offset });
      header = checkHeader(rec[1], file);
    } else if (kind === RecordKind.Trailer) {
      const end = offset + RECORD_PREFIX + length;
      if (end !== buf.length) throw new RecordingCorruptError(`${file}: ${buf.length - end} bytes after the trailer`, { file, offset: end });
      const trailer = rec[1] as RecordingTrailer;
      if (trailer.events !== events.length)
        throw new RecordingCorruptError(`${file}: the trailer counts ${trailer.events} events, the file holds ${events.length}`, { file, offset });
      return { file, header, events, trailer };
    } else if (kind === RecordKind.MemoryChanges) {
      events.push([RecordKind.MemoryRead, rec[1] as number, memoryChanges(shadow, rec, file, offset)]);
    } else if (kind === RecordKind.MemoryRead) {
      const [, addr, bytes] = rec as [RecordKind.MemoryRead, number, Uint8Array];
      shadow.seen(addr, bytes);
      events.push(rec as RecordEvent);
    } else if (kind > RecordKind.Header && kind <= LAST_KIND) {
      events.push(rec as RecordEvent);
    } else {
      throw new RecordingCorruptError(`${file}: record at byte ${offset} has unknown kind ${kind}`, { file, offset, kind });
    }
    offset += RECORD_PREFIX + length;
  }
  throw new RecordingTruncatedError(`${file}: cut off at byte ${offset} after ${events.length} events (no trailer: the session did not end cleanly)`, {
    file,
    offset,
    events: events.length,
  });
}

/** A kind-11 record's read, whole: the shadow with its runs applied. */
function memoryChanges(shadow: MemoryShadow, rec: unknown[], file: string, offset: number): Uint8Array {
  const [, addr, length, changes] = rec;
  if (typeof addr !== 'number' || typeof length !== 'number' || !(changes instanceof Uint8Array)) {
    throw new RecordingCorruptError(`${file}: memory-changes record at byte ${offset} is malformed`, { file, offset });
  }
  try {
    return shadow.apply(addr, length, changes);
  } catch (err) {
    throw new RecordingCorruptError(
      `${file}: memory-changes record at byte ${offset} (read of ${length} bytes at 0x${addr.toString(16)}) does not apply`,
      { file, offset, addr, length },
      { cause: err },
    );
  }
}

function checkHeader(h: unknown, file: string): RecordingHeader {
  const header = h as Partial<RecordingHeader> | undefined;
  if (header?.format !== RECORDING_FORMAT) throw new RecordingCorruptError(`${file}: the header is not a ${RECORDING_FORMAT} header`, { file, offset: MAGIC.length });
  if (!READABLE_VERSIONS.includes(header.version ?? -1)) {
    throw new RecordingVersionError(
      `${file}: recording format version ${String(header.version)}, this dirql reads versions ${READABLE_VERSIONS.slice(0, -1).join(', ')} and ${READABLE_VERSIONS.at(-1)} (recorded by dirql ${header.dirqlVersion ?? '?'})`,
      {
        file,
        version: header.version,
        expected: RECORDING_VERSION,
      },
    );
  }
  return header as RecordingHeader;
}
