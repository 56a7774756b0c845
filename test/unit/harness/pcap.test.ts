import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PcapFormatError } from '../../../harness/errors.ts';
import { LINKTYPE_ETHERNET, PCAP_MAGIC_MICROSECONDS, PCAP_MAGIC_NANOSECONDS, PcapWriter, parsePcap, readPcap } from '../../../harness/pcap.ts';
import { TrafficGenerator } from '../../../harness/traffic.ts';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dirql-pcap-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('PcapWriter / readPcap', () => {
  it('writes a classic little-endian microsecond header and reads back every frame', () => {
    const file = path.join(dir, 'us.pcap');
    const frames = new TrafficGenerator({ seed: 3 }).take(300);
    const w = new PcapWriter(file, { chunkBytes: 4096 });
    for (const f of frames) w.write(f);
    w.close();
    const raw = fs.readFileSync(file);
    expect(raw.readUInt32LE(0)).toBe(PCAP_MAGIC_MICROSECONDS);
    const { header, records } = readPcap(file);
    expect(header).toEqual({
      magic: PCAP_MAGIC_MICROSECONDS,
      byteOrder: 'LE',
      resolution: 'us',
      versionMajor: 2,
      versionMinor: 4,
      thisZone: 0,
      sigFigs: 0,
      snaplen: 65535,
      linkType: LINKTYPE_ETHERNET,
    });
    expect(records).toHaveLength(frames.length);
    expect(records.every((r, i) => r.data.equals(frames[i]!))).toBe(true);
    expect(records.every((r) => r.originalLength === r.capturedLength)).toBe(true);
    expect(records.every((r) => r.timestampNs % 1000n === 0n)).toBe(true);
  });

  it('stores nanosecond timestamps given explicitly under the 0xa1b23c4d magic', () => {
    const file = path.join(dir, 'ns.pcap');
    const w = new PcapWriter(file, { resolution: 'ns' });
    const at = 1_700_000_000_123_456_789n;
    w.write(Buffer.alloc(60, 1), at);
    w.write(Buffer.alloc(61, 2), at + 1n);
    w.close();
    const { header, records } = readPcap(file);
    expect(header.magic).toBe(PCAP_MAGIC_NANOSECONDS);
    expect(header.resolution).toBe('ns');
    expect(records.map((r) => r.timestampNs)).toEqual([at, at + 1n]);
  });

  it('timestamps default to the current wall clock', () => {
    const file = path.join(dir, 'now.pcap');
    const before = BigInt(Date.now()) * 1_000_000n;
    const w = new PcapWriter(file);
    w.write(Buffer.alloc(60));
    w.close();
    const after = BigInt(Date.now() + 1) * 1_000_000n;
    const [r] = readPcap(file).records;
    expect(r!.timestampNs).toBeGreaterThanOrEqual(before - 1_000_000n);
    expect(r!.timestampNs).toBeLessThanOrEqual(after);
  });

  it('truncates frames to snaplen and keeps the original length', () => {
    const file = path.join(dir, 'snap.pcap');
    const w = new PcapWriter(file, { snaplen: 64 });
    const frame = Buffer.alloc(1500, 7);
    w.write(frame);
    w.close();
    const { header, records } = readPcap(file);
    expect(header.snaplen).toBe(64);
    expect(records[0]).toMatchObject({ capturedLength: 64, originalLength: 1500 });
    expect(records[0]!.data.equals(frame.subarray(0, 64))).toBe(true);
  });

  it('makes records visible on flush() while the file stays open', () => {
    const file = path.join(dir, 'live.pcap');
    const w = new PcapWriter(file);
    w.write(Buffer.alloc(100, 9));
    expect(readPcap(file).records).toHaveLength(0);
    w.flush();
    expect(readPcap(file).records).toHaveLength(1);
    w.close();
    expect(w.closed).toBe(true);
  });

  it('reads big-endian files', () => {
    const buf = Buffer.alloc(24 + 16 + 4);
    buf.writeUInt32BE(PCAP_MAGIC_MICROSECONDS, 0);
    buf.writeUInt16BE(2, 4);
    buf.writeUInt16BE(4, 6);
    buf.writeUInt32BE(65535, 16);
    buf.writeUInt32BE(1, 20);
    buf.writeUInt32BE(10, 24);
    buf.writeUInt32BE(5, 28);
    buf.writeUInt32BE(4, 32);
    buf.writeUInt32BE(4, 36);
    buf.write('abcd', 40);
    const { header, records } = parsePcap(buf);
    expect(header.byteOrder).toBe('BE');
    expect(records[0]).toMatchObject({ timestampNs: 10_000_005_000n, data: Buffer.from('abcd') });
  });

  it('rejects a bad magic and a truncated record with PcapFormatError', () => {
    expect(() => parsePcap(Buffer.alloc(24))).toThrow(PcapFormatError);
    const file = path.join(dir, 'cut.pcap');
    const w = new PcapWriter(file);
    w.write(Buffer.alloc(100));
    w.close();
    const cut = fs.readFileSync(file).subarray(0, 24 + 16 + 50);
    expect(() => parsePcap(cut)).toThrow(PcapFormatError);
  });
});

/** Hex, with spaces and `|` between fields for reading, to bytes. */
const hex = (s: string) => Buffer.from(s.replace(/[\s|]/g, ''), 'hex');

describe('PcapWriter bytes against the libpcap format written out by hand', () => {
  // Two frames: an ARP-typed 14-byte header, and a 20-byte frame that snaplen 16 cuts.
  const arp = hex('ffffffffffff 020000000001 0806');
  const long = hex('020000000002 020000000001 88b5 0001020304 05');
  // 1700000000 s = 0x6553f100.
  const t0 = 1_700_000_000_123_456_789n;
  const t1 = 1_700_000_001_000_999_999n;

  it('microsecond file: header, then per record ts_sec, ts_usec (truncated), incl_len, orig_len, data', () => {
    const file = path.join(dir, 'by-hand-us.pcap');
    const w = new PcapWriter(file, { snaplen: 16 });
    w.write(arp, t0);
    w.write(long, t1);
    w.close();
    // magic 0xa1b2c3d4 LE | version 2 | 4 | thiszone 0 | sigfigs 0 | snaplen 16 | linktype 1 (Ethernet)
    // ts_sec 1700000000 | ts_usec 123456 | incl_len 14 | orig_len 14 | frame
    // ts_sec 1700000001 | ts_usec 999 | incl_len 16 | orig_len 20 | first 16 bytes
    const expected = hex(`
      d4c3b2a1 | 0200 | 0400 | 00000000 | 00000000 | 10000000 | 01000000
      00f15365 | 40e20100 | 0e000000 | 0e000000 | ffffffffffff 020000000001 0806
      01f15365 | e7030000 | 10000000 | 14000000 | 020000000002 020000000001 88b5 0001
    `);
    expect(fs.readFileSync(file).toString('hex')).toBe(expected.toString('hex'));
  });

  it('nanosecond file: magic 0xa1b23c4d and ts_nsec', () => {
    const file = path.join(dir, 'by-hand-ns.pcap');
    const w = new PcapWriter(file, { resolution: 'ns' });
    w.write(arp, t0);
    w.close();
    // magic 0xa1b23c4d LE | version 2.4 | thiszone | sigfigs | snaplen 65535 | linktype 1
    // ts_sec 1700000000 | ts_nsec 123456789 | incl_len 14 | orig_len 14 | frame
    const expected = hex(`
      4d3cb2a1 | 0200 | 0400 | 00000000 | 00000000 | ffff0000 | 01000000
      00f15365 | 15cd5b07 | 0e000000 | 0e000000 | ffffffffffff 020000000001 0806
    `);
    expect(fs.readFileSync(file).toString('hex')).toBe(expected.toString('hex'));
  });
});
