import { describe, expect, it } from 'vitest';
import { buildDhcpRequest, DhcpMessageType, parseDhcpReply } from '../../../src/host/dhcp-client.ts';
import { internetChecksum } from '../../../src/host/responder.ts';

const MAC = '52:54:00:12:34:56';

/** The options of a BOOTP message at `at` as code → bytes. */
function options(frame: Uint8Array, at: number): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (let o = at + 240; frame[o] !== 255; o += 2 + frame[o + 1]!) out.set(frame[o]!, [...frame.subarray(o + 2, o + 2 + frame[o + 1]!)]);
  return out;
}

/** A server's reply built byte by byte (not with the client's builder). */
function reply(type: number, xid: number, extra: number[] = []): Uint8Array {
  const bootp = [2, 1, 6, 0, ...[xid >>> 24, (xid >>> 16) & 0xff, (xid >>> 8) & 0xff, xid & 0xff], 0, 0, 0, 0, ...[0, 0, 0, 0], ...[10, 0, 2, 15], ...new Array<number>(8).fill(0)];
  bootp.push(...new Array<number>(236 - bootp.length).fill(0), 99, 130, 83, 99, 53, 1, type, 54, 4, 10, 0, 2, 2, 1, 4, 255, 255, 255, 0, ...extra, 255);
  const udpLength = 8 + bootp.length;
  return Uint8Array.from([
    ...[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02, 0x08, 0x00],
    ...[0x45, 0, (20 + udpLength) >> 8, (20 + udpLength) & 0xff, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 2, 2, 255, 255, 255, 255],
    ...[0, 67, 0, 68, udpLength >> 8, udpLength & 0xff, 0, 0],
    ...bootp,
  ]);
}

describe('DHCP client frames', () => {
  it('a DISCOVER is a broadcast from 0.0.0.0:68 to 255.255.255.255:67 with a good IP checksum, our MAC and the broadcast flag', () => {
    const f = buildDhcpRequest(MAC, 0x12345678);
    const v = Buffer.from(f);
    expect(v.subarray(0, 6).toString('hex')).toBe('ffffffffffff');
    expect(v.subarray(6, 12).toString('hex')).toBe('525400123456');
    expect(v.readUInt16BE(12)).toBe(0x0800);
    expect(internetChecksum(f, 14, 34)).toBe(0);
    expect([...f.subarray(26, 34)]).toEqual([0, 0, 0, 0, 255, 255, 255, 255]);
    expect([v.readUInt16BE(34), v.readUInt16BE(36), v.readUInt16BE(38)]).toEqual([68, 67, f.length - 34]);
    expect(v.readUInt16BE(16)).toBe(f.length - 14);
    const b = 42;
    expect(f.length - b).toBeGreaterThanOrEqual(300);
    expect([f[b], v.readUInt32BE(b + 4), v.readUInt16BE(b + 10)]).toEqual([1, 0x12345678, 0x8000]);
    expect(v.subarray(b + 28, b + 34).toString('hex')).toBe('525400123456');
    expect(options(f, b).get(53)).toEqual([DhcpMessageType.DISCOVER]);
    expect(options(f, b).has(50)).toBe(false);
  });

  it('a REQUEST names the offered address and the server', () => {
    const f = buildDhcpRequest(MAC, 7, { ip: '10.0.2.15', server: '10.0.2.2' });
    const o = options(f, 42);
    expect(o.get(53)).toEqual([DhcpMessageType.REQUEST]);
    expect(o.get(50)).toEqual([10, 0, 2, 15]);
    expect(o.get(54)).toEqual([10, 0, 2, 2]);
  });

  it("reads a server's OFFER and ACK: type, xid, address, server, mask, router, lease", () => {
    const offer = reply(DhcpMessageType.OFFER, 0xabcdef01);
    expect(parseDhcpReply(offer, offer.length)).toEqual({ type: 2, xid: 0xabcdef01, yiaddr: '10.0.2.15', server: '10.0.2.2', subnetMask: '255.255.255.0' });
    const ack = reply(DhcpMessageType.ACK, 9, [3, 4, 10, 0, 2, 2, 51, 4, 0, 1, 0x51, 0x80]);
    expect(parseDhcpReply(ack, ack.length)).toMatchObject({ type: 5, router: '10.0.2.2', leaseSeconds: 86400 });
  });

  it('ignores what is not a reply to port 68: our own request, a truncated reply, another ethertype', () => {
    const own = buildDhcpRequest(MAC, 1);
    expect(parseDhcpReply(own, own.length)).toBeUndefined();
    const offer = reply(DhcpMessageType.OFFER, 1);
    expect(parseDhcpReply(offer, 100)).toBeUndefined();
    const arp = Uint8Array.from(offer);
    arp[12] = 0x08;
    arp[13] = 0x06;
    expect(parseDhcpReply(arp, arp.length)).toBeUndefined();
  });
});
