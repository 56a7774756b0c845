import { randomInt } from 'node:crypto';
import { DirqlError } from '../util/errors.ts';
import { logger } from '../util/log.ts';
import type { DriverHost } from './driver-host.ts';
import { internetChecksum, type ResponderAddress } from './responder.ts';

const log = logger('dhcp');

const ETHERTYPE_IPV4 = 0x0800;
const IPPROTO_UDP = 17;
const CLIENT_PORT = 68;
const SERVER_PORT = 67;
const BOOTREQUEST = 1;
const BOOTREPLY = 2;
/** RFC 2131: options start after this at offset 236 of the BOOTP message. */
const MAGIC_COOKIE = [99, 130, 83, 99];
/** BOOTP's minimum message (RFC 951); some servers drop shorter requests. */
const BOOTP_MIN = 300;
const DHCP_AT = 14 + 20 + 8;

export const DhcpMessageType = { DISCOVER: 1, OFFER: 2, REQUEST: 3, ACK: 5, NAK: 6 } as const;

const OPT_SUBNET_MASK = 1;
const OPT_ROUTER = 3;
const OPT_REQUESTED_IP = 50;
const OPT_LEASE_TIME = 51;
const OPT_MESSAGE_TYPE = 53;
const OPT_SERVER_ID = 54;
const OPT_PARAMETER_LIST = 55;
const OPT_END = 255;

/** No lease: no server answered in time, or the server refused (NAK). */
export class DhcpError extends DirqlError {}

/** What a DHCP server handed out. */
export interface DhcpLease {
  address: ResponderAddress;
  server: string;
  router?: string;
  leaseSeconds?: number;
}

/** The parts of a server's reply the client acts on. */
export interface DhcpReply {
  type: number;
  xid: number;
  yiaddr: string;
  server?: string;
  subnetMask?: string;
  router?: string;
  leaseSeconds?: number;
}

const dotted = (b: Uint8Array, off: number) => `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
const quad = (ip: string) => ip.split('.').map(Number);

function prefixOf(mask: string): number {
  return quad(mask).reduce((n, o) => n + [...o.toString(2)].filter((c) => c === '1').length, 0);
}

/**
 * A DHCPDISCOVER (or, with `request`, a DHCPREQUEST for the offered address) from `mac`, broadcast
 * from 0.0.0.0:68 to 255.255.255.255:67 with the broadcast flag set, as a client without an
 * address sends it. The UDP checksum is 0 (none), which IPv4 allows.
 */
export function buildDhcpRequest(mac: string, xid: number, request?: { ip: string; server: string }): Uint8Array {
  const options = [OPT_MESSAGE_TYPE, 1, request ? DhcpMessageType.REQUEST : DhcpMessageType.DISCOVER];
  if (request) options.push(OPT_REQUESTED_IP, 4, ...quad(request.ip), OPT_SERVER_ID, 4, ...quad(request.server));
  options.push(OPT_PARAMETER_LIST, 3, OPT_SUBNET_MASK, OPT_ROUTER, OPT_LEASE_TIME, OPT_END);
  const bootp = new Uint8Array(Math.max(BOOTP_MIN, 240 + options.length));
  const v = new DataView(bootp.buffer);
  bootp[0] = BOOTREQUEST;
  bootp[1] = 1; // Ethernet
  bootp[2] = 6;
  v.setUint32(4, xid >>> 0);
  v.setUint16(10, 0x8000); // broadcast: we cannot take a unicast to an address we do not have yet
  bootp.set(
    mac.split(':').map((h) => Number.parseInt(h, 16)),
    28,
  );
  bootp.set(MAGIC_COOKIE, 236);
  bootp.set(options, 240);

  const frame = new Uint8Array(DHCP_AT + bootp.length);
  const f = new DataView(frame.buffer);
  frame.fill(0xff, 0, 6);
  frame.set(bootp.subarray(28, 34), 6);
  f.setUint16(12, ETHERTYPE_IPV4);
  frame[14] = 0x45;
  f.setUint16(16, 20 + 8 + bootp.length);
  frame[22] = 64;
  frame[23] = IPPROTO_UDP;
  frame.fill(0xff, 30, 34);
  f.setUint16(24, internetChecksum(frame, 14, 34));
  f.setUint16(34, CLIENT_PORT);
  f.setUint16(36, SERVER_PORT);
  f.setUint16(38, 8 + bootp.length);
  frame.set(bootp, DHCP_AT);
  return frame;
}

/** A server's reply to our port 68 with its options read; undefined for any other frame. */
export function parseDhcpReply(frame: Uint8Array, length: number): DhcpReply | undefined {
  if (length < DHCP_AT + 240) return undefined;
  const v = new DataView(frame.buffer, frame.byteOffset, length);
  if (v.getUint16(12) !== ETHERTYPE_IPV4 || frame[14]! >>> 4 !== 4 || frame[23] !== IPPROTO_UDP) return undefined;
  const udp = 14 + (frame[14]! & 0x0f) * 4;
  if (udp + 8 + 240 > length || v.getUint16(udp + 2) !== CLIENT_PORT) return undefined;
  const b = udp + 8;
  if (frame[b] !== BOOTREPLY || MAGIC_COOKIE.some((c, i) => frame[b + 236 + i] !== c)) return undefined;
  const reply: DhcpReply = { type: 0, xid: v.getUint32(b + 4), yiaddr: dotted(frame, b + 16) };
  for (let o = b + 240; o < length && frame[o] !== OPT_END;) {
    const code = frame[o]!;
    if (code === 0) {
      o++;
      continue;
    }
    const len = frame[o + 1]!;
    const at = o + 2;
    if (at + len > length) break;
    if (code === OPT_MESSAGE_TYPE && len >= 1) reply.type = frame[at]!;
    else if (code === OPT_SERVER_ID && len >= 4) reply.server = dotted(frame, at);
    else if (code === OPT_SUBNET_MASK && len >= 4) reply.subnetMask = dotted(frame, at);
    else if (code === OPT_ROUTER && len >= 4) reply.router = dotted(frame, at);
    else if (code === OPT_LEASE_TIME && len >= 4) reply.leaseSeconds = v.getUint32(at);
    o = at + len;
  }
  return reply;
}

export interface DhcpOptions {
  /** Give up after this long in all (default 10 s). */
  timeoutMs?: number;
  /** Send again when nothing answered within this (default 1 s). */
  retryMs?: number;
}

/**
 * DISCOVER, OFFER, REQUEST, ACK on the upper edge, through the driver: the address a DHCP server
 * on the wire hands out (QEMU's user network, slirp, serves 10.0.2.15/24). DhcpError when no server
 * answers in time or it refuses.
 */
export async function acquireDhcpLease(host: DriverHost, opts: DhcpOptions = {}): Promise<DhcpLease> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const retryMs = opts.retryMs ?? 1000;
  const xid = randomInt(1, 0x7fffffff);
  const deadline = Date.now() + timeoutMs;
  let waiting: ((r: DhcpReply) => void) | undefined;
  const stop = host.onReceive((view, length) => {
    const r = parseDhcpReply(view, length);
    if (r && r.xid === xid) waiting?.(r);
  });
  const exchange = async (frame: Uint8Array, wanted: readonly number[], what: string): Promise<DhcpReply> => {
    while (Date.now() < deadline) {
      const answer = new Promise<DhcpReply | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), Math.min(retryMs, Math.max(1, deadline - Date.now())));
        waiting = (r) => {
          if (!wanted.includes(r.type)) return;
          clearTimeout(timer);
          resolve(r);
        };
      });
      await host.sendAll([frame]);
      const r = await answer;
      if (r) return r;
      log.debug({ xid, what }, 'no DHCP answer yet: sending again');
    }
    throw new DhcpError(`no DHCP server answered the ${what} within ${timeoutMs} ms: QEMU's user network (--netdev user) serves DHCP; on dgram or tap give the address with --ip`, {
      xid,
      netdev: host.machine.netdev.kind,
    });
  };
  try {
    const offer = await exchange(buildDhcpRequest(host.mac, xid), [DhcpMessageType.OFFER], 'DHCPDISCOVER');
    if (!offer.server) throw new DhcpError(`the DHCP offer of ${offer.yiaddr} names no server`, { xid });
    const ack = await exchange(buildDhcpRequest(host.mac, xid, { ip: offer.yiaddr, server: offer.server }), [DhcpMessageType.ACK, DhcpMessageType.NAK], 'DHCPREQUEST');
    if (ack.type === DhcpMessageType.NAK) throw new DhcpError(`the DHCP server ${offer.server} refused ${offer.yiaddr} (DHCPNAK)`, { xid });
    const lease: DhcpLease = {
      address: { ip: ack.yiaddr, prefixLength: prefixOf(ack.subnetMask ?? offer.subnetMask ?? '255.255.255.0') },
      server: ack.server ?? offer.server,
      ...((ack.router ?? offer.router) ? { router: ack.router ?? offer.router } : {}),
      ...((ack.leaseSeconds ?? offer.leaseSeconds) !== undefined ? { leaseSeconds: ack.leaseSeconds ?? offer.leaseSeconds } : {}),
    };
    log.info({ ...lease }, 'DHCP lease');
    return lease;
  } finally {
    stop();
  }
}
