import * as fs from 'node:fs';
import { CaptureFile, CaptureFileError, captureClockNs, type CaptureFileOptions } from './capture-file.ts';

/*
 * pcapng (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html), little-endian, one
 * section. Unlike classic pcap it has interfaces, a direction per packet (epb_flags), packet comments
 * and per-interface statistics (received, dropped) that Wireshark shows in Capture File Properties.
 */
export const PCAPNG_SECTION_HEADER = 0x0a0d0d0a;
export const PCAPNG_INTERFACE_DESCRIPTION = 0x00000001;
export const PCAPNG_INTERFACE_STATISTICS = 0x00000005;
export const PCAPNG_ENHANCED_PACKET = 0x00000006;
export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const LINKTYPE_ETHERNET = 1;

/** epb_flags bits 0-1: the direction of a packet. */
export const EPB_INBOUND = 0b01;
export const EPB_OUTBOUND = 0b10;

const OPT_END = 0;
const OPT_COMMENT = 1;
const SHB_USERAPPL = 4;
const IF_NAME = 2;
const IF_DESCRIPTION = 3;
const IF_TSRESOL = 9;
const EPB_FLAGS = 2;
const ISB_STARTTIME = 2;
const ISB_ENDTIME = 3;
const ISB_IFRECV = 4;
const ISB_IFDROP = 5;

const EPB_FIXED = 28; // type, length, interface, ts high, ts low, captured, original
const EPB_FLAGS_OPTION = 8;
const BLOCK_TRAILER = 4;

export interface PcapngInterface {
  /** if_name, what Wireshark shows as the interface (e.g. in frame.interface_name). */
  name: string;
  description?: string;
  linkType?: number;
  /** Bytes kept per packet; longer frames are truncated, their original length recorded. Default 65535. */
  snaplen?: number;
}

export interface PcapngWriterOptions extends Pick<CaptureFileOptions, 'chunkBytes' | 'flushIntervalMs'> {
  interfaces: readonly PcapngInterface[];
  /** shb_userappl: the application that wrote the file. */
  application?: string;
}

export interface PcapngStatistics {
  /** isb_ifrecv: packets the interface saw. */
  received: bigint | number;
  /** isb_ifdrop: packets it dropped. */
  dropped: bigint | number;
  startNs?: bigint;
  endNs?: bigint;
  comment?: string;
}

const pad4 = (n: number) => (n + 3) & ~3;
const optionLength = (valueLength: number) => 4 + pad4(valueLength);

/** Streams packets into a pcapng file (nanosecond timestamps) with buffered synchronous writes. */
export class PcapngWriter {
  readonly path: string;
  private readonly file: CaptureFile;
  private readonly snaplens: number[];
  private packetCount = 0;

  constructor(path: string, options: PcapngWriterOptions) {
    this.path = path;
    if (options.interfaces.length === 0) throw new CaptureFileError('a pcapng file needs at least one interface', { path });
    this.snaplens = options.interfaces.map((i) => i.snaplen ?? 65535);
    const largest = EPB_FIXED + pad4(Math.min(Math.max(...this.snaplens), 65535)) + EPB_FLAGS_OPTION + 4 + BLOCK_TRAILER;
    this.file = new CaptureFile(path, { ...options, kind: 'pcapng file', largestRecord: largest });
    this.block(PCAPNG_SECTION_HEADER, 16, [...(options.application ? [text(SHB_USERAPPL, options.application)] : [])], (b, at) => {
      b.writeUInt32LE(PCAPNG_BYTE_ORDER_MAGIC, at);
      b.writeUInt16LE(1, at + 4);
      b.writeUInt16LE(0, at + 6);
      b.writeBigInt64LE(-1n, at + 8); // section length not given: it is streamed
    });
    options.interfaces.forEach((iface, i) => {
      const opts = [text(IF_NAME, iface.name), ...(iface.description ? [text(IF_DESCRIPTION, iface.description)] : []), { code: IF_TSRESOL, value: Buffer.of(9) }];
      this.block(PCAPNG_INTERFACE_DESCRIPTION, 8, opts, (b, at) => {
        b.writeUInt16LE(iface.linkType ?? LINKTYPE_ETHERNET, at);
        b.writeUInt16LE(0, at + 2);
        b.writeUInt32LE(this.snaplens[i]!, at + 4);
      });
    });
    this.file.flush();
  }

  get packets(): number {
    return this.packetCount;
  }

  get closed(): boolean {
    return this.file.closed;
  }

  /**
   * One Enhanced Packet Block: `length` bytes of `data` from `offset`, on interface `iface`, with
   * epb_flags `flags` (EPB_INBOUND / EPB_OUTBOUND; 0: none) and an optional packet comment.
   */
  write(iface: number, data: Uint8Array, offset: number, length: number, flags = 0, comment?: string, timestampNs: bigint = captureClockNs()): void {
    const snaplen = this.snaplens[iface];
    if (snaplen === undefined) throw new CaptureFileError(`no interface ${iface} in this pcapng file`, { path: this.path, iface });
    const captured = Math.min(length, snaplen);
    const note = comment !== undefined ? Buffer.from(comment, 'utf8') : undefined;
    const optionsLength = (flags !== 0 ? EPB_FLAGS_OPTION : 0) + (note ? optionLength(note.length) : 0) + (flags !== 0 || note ? 4 : 0);
    const total = EPB_FIXED + pad4(captured) + optionsLength + BLOCK_TRAILER;
    const fits = total <= this.file.chunk.length;
    const head = fits ? total : EPB_FIXED;
    const at = this.file.reserve(head);
    const b = this.file.chunk;
    b.writeUInt32LE(PCAPNG_ENHANCED_PACKET, at);
    b.writeUInt32LE(total, at + 4);
    b.writeUInt32LE(iface, at + 8);
    b.writeUInt32LE(Number((timestampNs >> 32n) & 0xffffffffn), at + 12);
    b.writeUInt32LE(Number(timestampNs & 0xffffffffn), at + 16);
    b.writeUInt32LE(captured, at + 20);
    b.writeUInt32LE(length, at + 24);
    if (fits) {
      b.set(data.subarray(offset, offset + captured), at + EPB_FIXED);
      let p = at + EPB_FIXED + captured;
      while (p < at + EPB_FIXED + pad4(captured)) b[p++] = 0;
      p = writeEpbOptions(b, p, flags, note);
      b.writeUInt32LE(total, p);
      this.file.commit(total);
    } else {
      // Larger than the chunk (a snaplen above 64 KiB): the rest goes straight through.
      this.file.commit(EPB_FIXED);
      const rest = Buffer.alloc(total - EPB_FIXED);
      rest.set(data.subarray(offset, offset + captured), 0);
      const p = writeEpbOptions(rest, pad4(captured), flags, note);
      rest.writeUInt32LE(total, p);
      this.file.writeThrough(rest);
    }
    this.packetCount++;
  }

  /** One Interface Statistics Block for `iface` (Wireshark: Statistics → Capture File Properties). */
  statistics(iface: number, s: PcapngStatistics, timestampNs: bigint = captureClockNs()): void {
    const u64 = (code: number, v: bigint | number) => {
      const value = Buffer.alloc(8);
      value.writeBigUInt64LE(BigInt(v));
      return { code, value };
    };
    const ts = (code: number, ns: bigint) => {
      const value = Buffer.alloc(8);
      value.writeUInt32LE(Number((ns >> 32n) & 0xffffffffn), 0);
      value.writeUInt32LE(Number(ns & 0xffffffffn), 4);
      return { code, value };
    };
    const opts = [
      ...(s.startNs !== undefined ? [ts(ISB_STARTTIME, s.startNs)] : []),
      ...(s.endNs !== undefined ? [ts(ISB_ENDTIME, s.endNs)] : []),
      u64(ISB_IFRECV, s.received),
      u64(ISB_IFDROP, s.dropped),
      ...(s.comment ? [text(OPT_COMMENT, s.comment)] : []),
    ];
    this.block(PCAPNG_INTERFACE_STATISTICS, 12, opts, (b, at) => {
      b.writeUInt32LE(iface, at);
      b.writeUInt32LE(Number((timestampNs >> 32n) & 0xffffffffn), at + 4);
      b.writeUInt32LE(Number(timestampNs & 0xffffffffn), at + 8);
    });
  }

  flush(): void {
    this.file.flush();
  }

  /** Flush and close; idempotent. */
  close(): void {
    this.file.close();
  }

  /** A block with a fixed body of `fixed` bytes (filled by `body`) and options. */
  private block(type: number, fixed: number, options: readonly Option[], body: (b: Buffer, at: number) => void): void {
    const opts = options.length > 0 ? options.reduce((n, o) => n + optionLength(o.value.length), 0) + 4 : 0;
    const total = 8 + fixed + opts + BLOCK_TRAILER;
    const block = Buffer.alloc(total);
    block.writeUInt32LE(type, 0);
    block.writeUInt32LE(total, 4);
    body(block, 8);
    let p = 8 + fixed;
    for (const o of options) p = writeOption(block, p, o.code, o.value);
    if (options.length > 0) p = writeOption(block, p, OPT_END, Buffer.alloc(0));
    block.writeUInt32LE(total, p);
    if (total <= this.file.chunk.length) {
      const at = this.file.reserve(total);
      block.copy(this.file.chunk, at);
      this.file.commit(total);
    } else this.file.writeThrough(block);
  }
}

interface Option {
  code: number;
  value: Buffer;
}

const text = (code: number, value: string): Option => ({ code, value: Buffer.from(value, 'utf8') });

function writeOption(b: Buffer, at: number, code: number, value: Uint8Array): number {
  b.writeUInt16LE(code, at);
  b.writeUInt16LE(value.length, at + 2);
  b.set(value, at + 4);
  const end = at + optionLength(value.length);
  for (let p = at + 4 + value.length; p < end; p++) b[p] = 0;
  return end;
}

function writeEpbOptions(b: Buffer, at: number, flags: number, note: Buffer | undefined): number {
  let p = at;
  if (flags !== 0) {
    b.writeUInt16LE(EPB_FLAGS, p);
    b.writeUInt16LE(4, p + 2);
    b.writeUInt32LE(flags, p + 4);
    p += EPB_FLAGS_OPTION;
  }
  if (note) p = writeOption(b, p, OPT_COMMENT, note);
  if (flags !== 0 || note) {
    b.writeUInt32LE(0, p); // opt_endofopt
    p += 4;
  }
  return p;
}

// ---------------------------------------------------------------- reading (tests, tools)

export interface PcapngPacket {
  interfaceId: number;
  timestampNs: bigint;
  capturedLength: number;
  originalLength: number;
  data: Buffer;
  /** epb_flags, 0 when absent. */
  flags: number;
  comments: string[];
}

export interface PcapngFile {
  application?: string;
  interfaces: { linkType: number; snaplen: number; name?: string; description?: string; tsresol?: number }[];
  packets: PcapngPacket[];
  statistics: { interfaceId: number; received?: bigint; dropped?: bigint; comments: string[] }[];
}

/** Parse a little-endian, one-section pcapng file such as PcapngWriter writes. */
export function parsePcapng(bytes: Buffer): PcapngFile {
  const bad = (why: string, context: Record<string, unknown> = {}) => new CaptureFileError(`not a pcapng file dirql can read: ${why}`, context);
  if (bytes.length < 28 || bytes.readUInt32LE(0) !== PCAPNG_SECTION_HEADER) throw bad('no section header block');
  if (bytes.readUInt32LE(8) !== PCAPNG_BYTE_ORDER_MAGIC) throw bad('big-endian or bad byte-order magic');
  const file: PcapngFile = { interfaces: [], packets: [], statistics: [] };
  let at = 0;
  while (at < bytes.length) {
    if (at + 12 > bytes.length) throw bad('truncated block', { offset: at });
    const type = bytes.readUInt32LE(at);
    const total = bytes.readUInt32LE(at + 4);
    if (total < 12 || total % 4 !== 0 || at + total > bytes.length || bytes.readUInt32LE(at + total - 4) !== total) throw bad('bad block length', { offset: at, type, total });
    const end = at + total - 4;
    const body = at + 8;
    if (type === PCAPNG_SECTION_HEADER) {
      if (at !== 0) throw bad('a second section', { offset: at });
      file.application = readOptions(bytes, body + 16, end)
        .find((o) => o.code === SHB_USERAPPL)
        ?.value.toString('utf8');
    } else if (type === PCAPNG_INTERFACE_DESCRIPTION) {
      const opts = readOptions(bytes, body + 8, end);
      const str = (code: number) => opts.find((o) => o.code === code)?.value.toString('utf8');
      const tsresol = opts.find((o) => o.code === IF_TSRESOL)?.value[0];
      file.interfaces.push({
        linkType: bytes.readUInt16LE(body),
        snaplen: bytes.readUInt32LE(body + 4),
        ...(str(IF_NAME) !== undefined ? { name: str(IF_NAME) } : {}),
        ...(str(IF_DESCRIPTION) !== undefined ? { description: str(IF_DESCRIPTION) } : {}),
        ...(tsresol !== undefined ? { tsresol } : {}),
      });
    } else if (type === PCAPNG_ENHANCED_PACKET) {
      const interfaceId = bytes.readUInt32LE(body);
      const iface = file.interfaces[interfaceId];
      if (!iface) throw bad('a packet on an interface not described', { offset: at, interfaceId });
      const raw = (BigInt(bytes.readUInt32LE(body + 4)) << 32n) | BigInt(bytes.readUInt32LE(body + 8));
      // if_tsresol 9 is nanoseconds; absent, microseconds (the format's default).
      const timestampNs = (iface.tsresol ?? 6) === 9 ? raw : raw * 1000n;
      const capturedLength = bytes.readUInt32LE(body + 12);
      const data = body + 20;
      if (data + capturedLength > end) throw bad('packet data past its block', { offset: at });
      const opts = readOptions(bytes, data + pad4(capturedLength), end);
      const flags = opts.find((o) => o.code === EPB_FLAGS);
      file.packets.push({
        interfaceId,
        timestampNs,
        capturedLength,
        originalLength: bytes.readUInt32LE(body + 16),
        data: Buffer.from(bytes.subarray(data, data + capturedLength)),
        flags: flags ? flags.value.readUInt32LE(0) : 0,
        comments: opts.filter((o) => o.code === OPT_COMMENT).map((o) => o.value.toString('utf8')),
      });
    } else if (type === PCAPNG_INTERFACE_STATISTICS) {
      const opts = readOptions(bytes, body + 12, end);
      const u64 = (code: number) => opts.find((o) => o.code === code)?.value.readBigUInt64LE(0);
      const received = u64(ISB_IFRECV);
      const dropped = u64(ISB_IFDROP);
      file.statistics.push({
        interfaceId: bytes.readUInt32LE(body),
        ...(received !== undefined ? { received } : {}),
        ...(dropped !== undefined ? { dropped } : {}),
        comments: opts.filter((o) => o.code === OPT_COMMENT).map((o) => o.value.toString('utf8')),
      });
    }
    at += total;
  }
  return file;
}

export function readPcapng(path: string): PcapngFile {
  return parsePcapng(fs.readFileSync(path));
}

function readOptions(bytes: Buffer, from: number, end: number): Option[] {
  const out: Option[] = [];
  let p = from;
  while (p + 4 <= end) {
    const code = bytes.readUInt16LE(p);
    const length = bytes.readUInt16LE(p + 2);
    if (code === OPT_END) break;
    out.push({ code, value: bytes.subarray(p + 4, p + 4 + length) });
    p += optionLength(length);
  }
  return out;
}
