import { DirqlError } from '../util/errors.ts';
import { logger } from '../util/log.ts';
import type { DriverHost } from './driver-host.ts';

const log = logger('responder');

/** QEMU's user network gives its guest this address; a tap or a dgram peer can use it as well. */
export const DEFAULT_RESPONDER_IP = '10.0.2.15/24';

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_ARP = 0x0806;
const ARP_REQUEST = 1;
const ARP_REPLY = 2;
const IPPROTO_ICMP = 1;
const ICMP_ECHO_REPLY = 0;
const ICMP_ECHO_REQUEST = 8;
const REPLY_TTL = 64;

/** A `--ip` value that is not an IPv4 address with an optional /prefix. */
export class ResponderConfigError extends DirqlError {}

export interface ResponderAddress {
  /** Dotted quad. */
  ip: string;
  prefixLength: number;
}

/** `10.0.2.15/24` or `10.0.2.15` (/24 then). */
export function parseIpv4WithPrefix(value: string): ResponderAddress {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(value);
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const prefixLength = m?.[5] === undefined ? 24 : Number(m[5]);
  if (!m || octets.some((o) => o > 255) || prefixLength < 1 || prefixLength > 32) {
    throw new ResponderConfigError(`an IPv4 address with an optional prefix length is needed, like 10.0.2.15/24; got ${JSON.stringify(value)}`, { value });
  }
  const ip = octets.join('.');
  if (octets[0] === 0 || octets[0]! >= 224 || octets[0] === 127) {
    throw new ResponderConfigError(`${ip} cannot be a NIC's unicast address`, { value });
  }
  return { ip, prefixLength };
}

/** The responder's counters (frames it was handed: each is one of these, or a refused reply). */
export interface ResponderCounters {
  arpRequests: number;
  arpReplies: number;
  echoRequests: number;
  echoReplies: number;
  /** Frames that were neither an ARP request for the address nor an ICMP echo request to it (or had a bad checksum). */
  ignored: number;
  /** Replies the TX ring had no room for. */
  refused: number;
}

export type ResponderAnswer = { kind: 'arp' | 'echo'; reply: Uint8Array } | { kind: 'ignored'; why: string };

/** The RFC 1071 Internet checksum of `b[start, end)` (a trailing odd byte padded with zero). */
export function internetChecksum(b: Uint8Array, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i + 1 < end; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if ((end - start) & 1) sum += b[end - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function ipBytes(ip: string): Uint8Array {
  return Uint8Array.from(ip.split('.').map(Number));
}

function macBytes(mac: string): Uint8Array {
  return Uint8Array.from(mac.split(':').map((h) => Number.parseInt(h, 16)));
}

function equal(a: Uint8Array, off: number, b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (a[off + i] !== b[i]) return false;
  return true;
}

const u16 = (b: Uint8Array, off: number) => (b[off]! << 8) | b[off + 1]!;
function put16(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 8;
  b[off + 1] = v & 0xff;
}

/**
 * What a host at `ip` with station address `mac` answers to one received frame: an ARP reply to an
 * ARP request for `ip`, an ICMP echo reply to an unfragmented ICMP echo request to `ip` (its IP
 * and ICMP checksums checked, its identifier, sequence and data kept), nothing to anything else.
 * Pure, so the unit tests can hand it frames built byte by byte.
 */
export function answerFrame(frame: Uint8Array, length: number, own: { mac: string; ip: string }): ResponderAnswer {
  if (length < 14) return { kind: 'ignored', why: 'runt' };
  const ethertype = u16(frame, 12);
  const mac = macBytes(own.mac);
  const ip = ipBytes(own.ip);
  if (ethertype === ETHERTYPE_ARP) {
    if (length < 42) return { kind: 'ignored', why: 'short ARP' };
    const ethernetIpv4 = u16(frame, 14) === 1 && u16(frame, 16) === ETHERTYPE_IPV4 && frame[18] === 6 && frame[19] === 4;
    if (!ethernetIpv4) return { kind: 'ignored', why: 'ARP not for Ethernet/IPv4' };
    if (u16(frame, 20) !== ARP_REQUEST) return { kind: 'ignored', why: 'ARP not a request' };
    if (!equal(frame, 38, ip)) return { kind: 'ignored', why: 'ARP request for another address' };
    // Padded to the 60-byte minimum, as a NIC would put it on the wire.
    const reply = new Uint8Array(60);
    reply.set(frame.subarray(22, 28), 0); // to the requester's hardware address
    reply.set(mac, 6);
    put16(reply, 12, ETHERTYPE_ARP);
    reply.set(frame.subarray(14, 20), 14); // htype, ptype, hlen, plen
    put16(reply, 20, ARP_REPLY);
    reply.set(mac, 22);
    reply.set(ip, 28);
    reply.set(frame.subarray(22, 32), 32); // target = the requester's hardware and protocol address
    return { kind: 'arp', reply };
  }
  if (ethertype !== ETHERTYPE_IPV4) return { kind: 'ignored', why: `ethertype 0x${ethertype.toString(16)}` };
  if (length < 34 || frame[14]! >>> 4 !== 4) return { kind: 'ignored', why: 'not IPv4' };
  const ihl = (frame[14]! & 0x0f) * 4;
  const totalLength = u16(frame, 16);
  if (ihl < 20 || totalLength < ihl + 8 || 14 + totalLength > length) return { kind: 'ignored', why: 'bad IPv4 lengths' };
  if (internetChecksum(frame, 14, 14 + ihl) !== 0) return { kind: 'ignored', why: 'bad IPv4 header checksum' };
  if (!equal(frame, 30, ip)) return { kind: 'ignored', why: 'IPv4 to another address' };
  if (frame[23] !== IPPROTO_ICMP) return { kind: 'ignored', why: `IP protocol ${frame[23]}` };
  if ((u16(frame, 20) & 0x3fff) !== 0) return { kind: 'ignored', why: 'IPv4 fragment' };
  const icmp = 14 + ihl;
  const end = 14 + totalLength;
  if (frame[icmp] !== ICMP_ECHO_REQUEST || frame[icmp + 1] !== 0) return { kind: 'ignored', why: `ICMP type ${frame[icmp]}` };
  if (internetChecksum(frame, icmp, end) !== 0) return { kind: 'ignored', why: 'bad ICMP checksum' };
  const reply = new Uint8Array(Math.max(60, end));
  reply.set(frame.subarray(0, end), 0);
  reply.set(frame.subarray(6, 12), 0);
  reply.set(mac, 6);
  reply[22] = REPLY_TTL;
  reply.set(frame.subarray(26, 30), 30); // to the sender
  reply.set(ip, 26);
  put16(reply, 24, 0);
  put16(reply, 24, internetChecksum(reply, 14, 14 + ihl));
  reply[icmp] = ICMP_ECHO_REPLY;
  put16(reply, icmp + 2, 0);
  put16(reply, icmp + 2, internetChecksum(reply, icmp, end));
  return { kind: 'echo', reply };
}

export interface Responder {
  readonly address: ResponderAddress;
  readonly counters: Readonly<ResponderCounters>;
  stop(): void;
}

/**
 * A host on the upper edge at `address`: answers ARP for it and ICMP echo to it, so `ping` from the
 * wire's other end gets replies through the driver both ways. Everything else is counted and left.
 */
export function startResponder(host: DriverHost, address: ResponderAddress = parseIpv4WithPrefix(DEFAULT_RESPONDER_IP)): Responder {
  const counters: ResponderCounters = { arpRequests: 0, arpReplies: 0, echoRequests: 0, echoReplies: 0, ignored: 0, refused: 0 };
  const own = { mac: host.mac, ip: address.ip };
  const stop = host.onReceive((view, length) => {
    const a = answerFrame(view, length, own);
    if (a.kind === 'ignored') {
      counters.ignored++;
      return;
    }
    if (a.kind === 'arp') counters.arpRequests++;
    else counters.echoRequests++;
    if (host.send([a.reply]) !== 1) {
      if (++counters.refused % 1000 === 1) log.warn({ refused: counters.refused }, 'TX ring full: responder replies refused');
      return;
    }
    if (a.kind === 'arp') counters.arpReplies++;
    else counters.echoReplies++;
  });
  log.debug({ ip: address.ip, mac: own.mac }, 'responder up');
  return { address, counters, stop };
}
