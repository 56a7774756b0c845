import { readFile } from 'node:fs/promises';

/**
 * The kernel's view of QEMU's `-netdev dgram` socket (its `local.port` on 127.0.0.1), from
 * /proc/net/udp: what arrived for the NIC and never reached QEMU, and what waits for QEMU to read it.
 */
export interface NetdevSocketCounters {
  /** Datagrams the kernel dropped at QEMU's socket because its receive buffer was full (sk_drops). */
  drops: number;
  /** Bytes waiting in the socket's receive queue: datagrams QEMU has not read yet (rx_queue). */
  queuedBytes: number;
  /** The socket's inode (what /proc/<pid>/fd/* links to as `socket:[inode]`). */
  inode: number;
}

/** `0100007F:C92B` → 127.0.0.1:51499 as /proc/net/udp prints it (address in host byte order, little-endian here). */
function localEndpoint(field: string): { address: string; port: number } | undefined {
  const m = /^([0-9A-F]{8}):([0-9A-F]{4})$/i.exec(field);
  if (!m) return undefined;
  const a = Number.parseInt(m[1]!, 16);
  const address = [a & 0xff, (a >>> 8) & 0xff, (a >>> 16) & 0xff, a >>> 24].join('.');
  return { address, port: Number.parseInt(m[2]!, 16) };
}

/**
 * Find the UDP socket bound to `address:port` in a /proc/net/udp text. Columns: sl, local_address,
 * rem_address, st, tx_queue:rx_queue, tr:tm->when, retrnsmt, uid, timeout, inode, ref, pointer, drops.
 */
export function parseProcNetUdp(text: string, port: number, address = '127.0.0.1'): NetdevSocketCounters | undefined {
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 13) continue;
    const local = localEndpoint(f[1]!);
    if (!local || local.port !== port || (local.address !== address && local.address !== '0.0.0.0')) continue;
    const queues = f[4]!.split(':');
    return { queuedBytes: Number.parseInt(queues[1] ?? '0', 16), inode: Number(f[9]), drops: Number(f[12]) };
  }
  return undefined;
}

/**
 * Counters of the socket bound to 127.0.0.1:`port` in the network namespace of `pid` (QEMU's: the
 * host's own, since QEMU runs as its child), or undefined when no such socket exists (QEMU gone).
 */
export async function readNetdevSocket(port: number, pid?: number): Promise<NetdevSocketCounters | undefined> {
  const path = pid !== undefined ? `/proc/${pid}/net/udp` : '/proc/net/udp';
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    // QEMU exited between the check and the read: its socket is gone with it.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
    throw err;
  }
  return parseProcNetUdp(text, port);
}
