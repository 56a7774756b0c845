import { describe, expect, it } from 'vitest';
import { answerFrame, parseIpv4WithPrefix, ResponderConfigError } from '../../../src/host/responder.ts';

const OWN = { mac: '52:54:00:12:34:56', ip: '10.0.2.15' };
const PEER_MAC = [0x02, 0x00, 0x00, 0xaa, 0xbb, 0xcc];
const OWN_MAC = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
const PEER_IP = [10, 0, 2, 1];
const OWN_IP = [10, 0, 2, 15];

/** The Internet checksum computed another way than the responder's: 32-bit words, folded once at the end. */
function checksum(bytes: Uint8Array): number {
  const b = Buffer.from(bytes.length % 4 === 0 ? bytes : Buffer.concat([bytes, Buffer.alloc(4 - (bytes.length % 4))]));
  let sum = 0n;
  for (let i = 0; i < b.length; i += 4) sum += BigInt(b.readUInt32BE(i));
  while (sum >> 16n) sum = (sum & 0xffffn) + (sum >> 16n);
  return Number(~sum & 0xffffn);
}

function arpRequest(targetIp: number[], opts: { oper?: number } = {}): Uint8Array {
  return Uint8Array.from([
    ...[0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    ...PEER_MAC,
    0x08,
    0x06,
    0x00,
    0x01,
    0x08,
    0x00,
    6,
    4,
    0x00,
    opts.oper ?? 1,
    ...PEER_MAC,
    ...PEER_IP,
    0,
    0,
    0,
    0,
    0,
    0,
    ...targetIp,
    ...new Array<number>(18).fill(0),
  ]);
}

function echoRequest(dstIp: number[], opts: { data?: number[]; badIcmp?: boolean; badIp?: boolean; fragment?: boolean; type?: number } = {}): Uint8Array {
  const data = opts.data ?? [...'abcdefghijklmnopqrstuvwxyz'].map((c) => c.charCodeAt(0));
  const icmp = [opts.type ?? 8, 0, 0, 0, 0x12, 0x34, 0x00, 0x07, ...data];
  const ics = checksum(Uint8Array.from(icmp)) ^ (opts.badIcmp ? 1 : 0);
  icmp[2] = ics >> 8;
  icmp[3] = ics & 0xff;
  const total = 20 + icmp.length;
  const ip = [0x45, 0, total >> 8, total & 0xff, 0xbe, 0xef, opts.fragment ? 0x20 : 0x40, 0, 64, 1, 0, 0, ...PEER_IP, ...dstIp];
  const hcs = checksum(Uint8Array.from(ip)) ^ (opts.badIp ? 1 : 0);
  ip[10] = hcs >> 8;
  ip[11] = hcs & 0xff;
  const frame = [...OWN_MAC, ...PEER_MAC, 0x08, 0x00, ...ip, ...icmp];
  while (frame.length < 60) frame.push(0);
  return Uint8Array.from(frame);
}

const answer = (f: Uint8Array) => answerFrame(f, f.length, OWN);

describe('the responder', () => {
  it('answers an ARP request for its address with its MAC, to the requester', () => {
    const a = answer(arpRequest(OWN_IP));
    expect(a.kind).toBe('arp');
    const r = Buffer.from((a as { reply: Uint8Array }).reply);
    expect(r.length).toBe(60);
    expect([...r.subarray(0, 6)]).toEqual(PEER_MAC);
    expect([...r.subarray(6, 12)]).toEqual(OWN_MAC);
    expect(r.readUInt16BE(12)).toBe(0x0806);
    expect([...r.subarray(14, 20)]).toEqual([0, 1, 8, 0, 6, 4]);
    expect(r.readUInt16BE(20)).toBe(2);
    expect([...r.subarray(22, 28)]).toEqual(OWN_MAC);
    expect([...r.subarray(28, 32)]).toEqual(OWN_IP);
    expect([...r.subarray(32, 38)]).toEqual(PEER_MAC);
    expect([...r.subarray(38, 42)]).toEqual(PEER_IP);
  });

  it('ignores ARP for another address and ARP replies', () => {
    expect(answer(arpRequest([10, 0, 2, 99]))).toMatchObject({ kind: 'ignored', why: 'ARP request for another address' });
    expect(answer(arpRequest(OWN_IP, { oper: 2 }))).toMatchObject({ kind: 'ignored', why: 'ARP not a request' });
  });

  it('answers an ICMP echo request with an echo reply whose checksums are right and whose data is the same', () => {
    const req = echoRequest(OWN_IP);
    const a = answer(req);
    expect(a.kind).toBe('echo');
    const r = Buffer.from((a as { reply: Uint8Array }).reply);
    expect([...r.subarray(0, 6)]).toEqual(PEER_MAC);
    expect([...r.subarray(6, 12)]).toEqual(OWN_MAC);
    const ip = r.subarray(14, 34);
    expect(checksum(ip)).toBe(0);
    expect([...ip.subarray(12, 16)]).toEqual(OWN_IP);
    expect([...ip.subarray(16, 20)]).toEqual(PEER_IP);
    expect(ip[9]).toBe(1);
    expect(ip.readUInt16BE(4)).toBe(0xbeef);
    const total = ip.readUInt16BE(2);
    const icmp = r.subarray(34, 14 + total);
    expect(checksum(icmp)).toBe(0);
    expect(icmp[0]).toBe(0);
    expect(icmp.readUInt16BE(4)).toBe(0x1234);
    expect(icmp.readUInt16BE(6)).toBe(7);
    expect(Buffer.from(icmp.subarray(8))).toEqual(Buffer.from(req.subarray(42, 14 + total)));
  });

  it('keeps odd-length data intact, its checksum right', () => {
    const a = answer(echoRequest(OWN_IP, { data: Array.from({ length: 1001 }, (_, i) => (i * 7) & 0xff) }));
    const r = Buffer.from((a as { reply: Uint8Array }).reply);
    expect(a.kind).toBe('echo');
    expect(r.length).toBe(14 + 20 + 8 + 1001);
    expect(checksum(r.subarray(34))).toBe(0);
  });

  it('ignores echo requests to another address, bad checksums, fragments, other ICMP and other ethertypes', () => {
    expect(answer(echoRequest([10, 0, 2, 16]))).toMatchObject({ kind: 'ignored', why: 'IPv4 to another address' });
    expect(answer(echoRequest(OWN_IP, { badIp: true }))).toMatchObject({ kind: 'ignored', why: 'bad IPv4 header checksum' });
    expect(answer(echoRequest(OWN_IP, { badIcmp: true }))).toMatchObject({ kind: 'ignored', why: 'bad ICMP checksum' });
    expect(answer(echoRequest(OWN_IP, { fragment: true }))).toMatchObject({ kind: 'ignored', why: 'IPv4 fragment' });
    expect(answer(echoRequest(OWN_IP, { type: 0 }))).toMatchObject({ kind: 'ignored', why: 'ICMP type 0' });
    const ipv6 = echoRequest(OWN_IP);
    ipv6[12] = 0x86;
    ipv6[13] = 0xdd;
    expect(answer(ipv6)).toMatchObject({ kind: 'ignored', why: 'ethertype 0x86dd' });
    expect(answer(new Uint8Array(10))).toMatchObject({ kind: 'ignored', why: 'runt' });
  });
});

describe('--ip', () => {
  it('takes an address with or without a prefix length', () => {
    expect(parseIpv4WithPrefix('10.0.2.15/24')).toEqual({ ip: '10.0.2.15', prefixLength: 24 });
    expect(parseIpv4WithPrefix('192.168.7.2')).toEqual({ ip: '192.168.7.2', prefixLength: 24 });
  });

  it('refuses what cannot be a unicast IPv4 address', () => {
    for (const bad of ['10.0.2', '10.0.2.256', '10.0.2.15/33', '224.0.0.1', '127.0.0.1', '0.1.2.3', 'fe80::1']) {
      expect(() => parseIpv4WithPrefix(bad), bad).toThrow(ResponderConfigError);
    }
  });
});
