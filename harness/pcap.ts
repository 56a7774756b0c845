import * as fs from 'node:fs';
import { CaptureFile, captureClockNs } from '../src/capture/capture-file.ts';
import { HarnessError, PcapFormatError } from './errors.ts';

/*
 * Classic libpcap files (https://wiki.wireshark.org/Development/LibpcapFileFormat), written in
 * little-endian byte order. Classic pcap has no direction field: the peer writes one file per
 * capture and each capture chooses 'sent', 'received' or 'both' (see WirePeer.capture).
 */
export const PCAP_MAGIC_MICROSECONDS = 0xa1b2c3d4;
export const PCAP_MAGIC_NANOSECONDS = 0xa1b23c4d;
export const PCAP_VERSION_MAJOR = 2;
export const PCAP_VERSION_MINOR = 4;
export const LINKTYPE_ETHERNET = 1;
export const PCAP_GLOBAL_HEADER_LENGTH = 24;
export const PCAP_RECORD_HEADER_LENGTH = 16;
export const DEFAULT_SNAPLEN = 65535;

export type PcapResolution = 'us' | 'ns';

/** Wall-clock time in nanoseconds with hrtime resolution; the pcapng writer (src/capture) uses the same clock. */
export { captureClockNs };

export interface PcapWriterOptions {
  /** Timestamp resolution: 'us' (magic 0xa1b2c3d4, default) or 'ns' (0xa1b23c4d). */
  resolution?: PcapResolution;
  /** Bytes kept per record; longer frames are truncated, their original length recorded. */
  snaplen?: number;
  linkType?: number;
  /** Records are buffered and written in chunks of about this size. Default 64 KiB. */
  chunkBytes?: number;
  /** Buffered records are also written at this interval, so a live file can be tailed. Default 200. */
  flushIntervalMs?: number;
}

/** Streams frames into a classic pcap file with buffered synchronous writes (src/capture/capture-file.ts). */
export class PcapWriter {
  readonly path: string;
  readonly resolution: PcapResolution;
  readonly snaplen: number;
  private readonly file: CaptureFile;
  private recordCount = 0;

  constructor(path: string, options: PcapWriterOptions = {}) {
    this.path = path;
    this.resolution = options.resolution ?? 'us';
    this.snaplen = options.snaplen ?? DEFAULT_SNAPLEN;
    if (!Number.isInteger(this.snaplen) || this.snaplen < 1 || this.snaplen > 0x7fffffff) {
      throw new HarnessError('invalid pcap snaplen', { path, snaplen: this.snaplen });
    }
    this.file = new CaptureFile(path, {
      ...(options.chunkBytes !== undefined ? { chunkBytes: options.chunkBytes } : {}),
      ...(options.flushIntervalMs !== undefined ? { flushIntervalMs: options.flushIntervalMs } : {}),
      largestRecord: PCAP_RECORD_HEADER_LENGTH + Math.min(this.snaplen, 65535),
      kind: 'pcap file',
      error: (message, context, opts) => new HarnessError(message, context, opts.cause === undefined ? {} : opts),
    });
    const at = this.file.reserve(PCAP_GLOBAL_HEADER_LENGTH);
    const header = this.file.chunk;
    header.writeUInt32LE(this.resolution === 'ns' ? PCAP_MAGIC_NANOSECONDS : PCAP_MAGIC_MICROSECONDS, at);
    header.writeUInt16LE(PCAP_VERSION_MAJOR, at + 4);
    header.writeUInt16LE(PCAP_VERSION_MINOR, at + 6);
    header.writeInt32LE(0, at + 8); // thiszone: timestamps are UTC
    header.writeUInt32LE(0, at + 12); // sigfigs
    header.writeUInt32LE(this.snaplen, at + 16);
    header.writeUInt32LE(options.linkType ?? LINKTYPE_ETHERNET, at + 20);
    this.file.commit(PCAP_GLOBAL_HEADER_LENGTH);
    this.file.flush();
  }

  get records(): number {
    return this.recordCount;
  }

  get closed(): boolean {
    return this.file.closed;
  }

  /** Append one frame; `timestampNs` defaults to now (captureClockNs). */
  write(frame: Uint8Array, timestampNs: bigint = captureClockNs()): void {
    const captured = Math.min(frame.length, this.snaplen);
    const recordLength = PCAP_RECORD_HEADER_LENGTH + captured;
    const fits = recordLength <= this.file.chunk.length;
    const at = this.file.reserve(fits ? recordLength : PCAP_RECORD_HEADER_LENGTH);
    const chunk = this.file.chunk;
    const seconds = timestampNs / 1_000_000_000n;
    const nanos = Number(timestampNs - seconds * 1_000_000_000n);
    chunk.writeUInt32LE(Number(seconds & 0xffffffffn), at);
    chunk.writeUInt32LE(this.resolution === 'ns' ? nanos : Math.floor(nanos / 1000), at + 4);
    chunk.writeUInt32LE(captured, at + 8);
    chunk.writeUInt32LE(frame.length, at + 12);
    if (fits) {
      chunk.set(frame.subarray(0, captured), at + PCAP_RECORD_HEADER_LENGTH);
      this.file.commit(recordLength);
    } else {
      // Longer than the chunk (snaplen above 64 KiB): the header buffered, the data straight through.
      this.file.commit(PCAP_RECORD_HEADER_LENGTH);
      this.file.writeThrough(frame.subarray(0, captured));
    }
    this.recordCount++;
  }

  /** Write buffered records to the file. */
  flush(): void {
    this.file.flush();
  }

  /** Flush and close; idempotent. */
  close(): void {
    this.file.close();
  }
}

export interface PcapHeader {
  magic: number;
  byteOrder: 'LE' | 'BE';
  resolution: PcapResolution;
  versionMajor: number;
  versionMinor: number;
  thisZone: number;
  sigFigs: number;
  snaplen: number;
  linkType: number;
}

export interface PcapRecord {
  /** Timestamp in nanoseconds since the epoch (microsecond files: a multiple of 1000). */
  timestampNs: bigint;
  capturedLength: number;
  originalLength: number;
  data: Buffer;
}

export interface PcapFile {
  header: PcapHeader;
  records: PcapRecord[];
}

/** Parse a classic pcap file (either byte order, either resolution). */
export function parsePcap(bytes: Buffer): PcapFile {
  if (bytes.length < PCAP_GLOBAL_HEADER_LENGTH) {
    throw new PcapFormatError('file shorter than the pcap global header', { length: bytes.length });
  }
  const le = bytes.readUInt32LE(0);
  const be = bytes.readUInt32BE(0);
  let byteOrder: 'LE' | 'BE';
  let magic: number;
  if (le === PCAP_MAGIC_MICROSECONDS || le === PCAP_MAGIC_NANOSECONDS) [byteOrder, magic] = ['LE', le];
  else if (be === PCAP_MAGIC_MICROSECONDS || be === PCAP_MAGIC_NANOSECONDS) [byteOrder, magic] = ['BE', be];
  else throw new PcapFormatError('not a classic pcap file (bad magic)', { magic: le.toString(16) });
  const u16 = (o: number) => (byteOrder === 'LE' ? bytes.readUInt16LE(o) : bytes.readUInt16BE(o));
  const u32 = (o: number) => (byteOrder === 'LE' ? bytes.readUInt32LE(o) : bytes.readUInt32BE(o));
  const i32 = (o: number) => (byteOrder === 'LE' ? bytes.readInt32LE(o) : bytes.readInt32BE(o));
  const resolution: PcapResolution = magic === PCAP_MAGIC_NANOSECONDS ? 'ns' : 'us';
  const header: PcapHeader = {
    magic,
    byteOrder,
    resolution,
    versionMajor: u16(4),
    versionMinor: u16(6),
    thisZone: i32(8),
    sigFigs: u32(12),
    snaplen: u32(16),
    linkType: u32(20),
  };
  const records: PcapRecord[] = [];
  let at = PCAP_GLOBAL_HEADER_LENGTH;
  while (at < bytes.length) {
    if (at + PCAP_RECORD_HEADER_LENGTH > bytes.length) {
      throw new PcapFormatError('truncated record header', { offset: at, record: records.length });
    }
    const seconds = BigInt(u32(at));
    const fraction = BigInt(u32(at + 4));
    const capturedLength = u32(at + 8);
    const originalLength = u32(at + 12);
    const start = at + PCAP_RECORD_HEADER_LENGTH;
    if (start + capturedLength > bytes.length) {
      throw new PcapFormatError('truncated record data', { offset: at, record: records.length, capturedLength });
    }
    records.push({
      timestampNs: seconds * 1_000_000_000n + (resolution === 'ns' ? fraction : fraction * 1000n),
      capturedLength,
      originalLength,
      data: Buffer.from(bytes.subarray(start, start + capturedLength)),
    });
    at = start + capturedLength;
  }
  return { header, records };
}

export function readPcap(path: string): PcapFile {
  return parsePcap(fs.readFileSync(path));
}
