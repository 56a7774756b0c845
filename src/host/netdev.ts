import { existsSync, readFileSync } from 'node:fs';
import { execa } from 'execa';
import { WIRE_HOST, type NetdevConfig, type ResolvedNetdev } from '../../qemu/stub-config.ts';
import { DirqlError } from '../util/errors.ts';

/** How the NIC's netdev reaches the outside, as `DriverHost.start({ netdev })` and `dirql up --netdev` take it. */
export type HostNetdev =
  /** UDP datagrams between QEMU and a wire peer on 127.0.0.1 (the default); ports default to free ones. */
  | { kind: 'dgram'; qemuPort?: number; peerPort?: number }
  /**
   * QEMU's user-mode network (slirp): a virtual 10.0.2.0/24 with QEMU's gateway at 10.0.2.2.
   * `restrict` (default true) keeps it from reaching anything outside that network; `options` are
   * appended as QEMU reads them, e.g. `hostfwd=udp::5555-:5555`.
   */
  | { kind: 'user'; restrict?: boolean; options?: string[] }
  /** A tap interface that already exists on this host (QEMU runs no helper scripts). */
  | { kind: 'tap'; ifname: string };

export const NETDEV_KINDS = ['dgram', 'user', 'tap'] as const;

/** A netdev that cannot work here (unknown kind, a tap that does not exist, a QEMU without slirp). Nothing was started. */
export class NetdevError extends DirqlError {}

/** `dgram`, `user` or `tap:<ifname>`, as `--netdev` takes it. */
export function parseNetdev(value: string): HostNetdev {
  const [kind, ...rest] = value.split(':');
  const arg = rest.join(':');
  if (kind === 'dgram' || kind === 'user') {
    if (arg) throw new NetdevError(`netdev ${kind} takes no argument, got ${JSON.stringify(value)}`, { netdev: value });
    return { kind };
  }
  if (kind === 'tap') {
    if (!arg) throw new NetdevError('netdev tap needs the tap interface name: tap:<ifname>', { netdev: value });
    return { kind: 'tap', ifname: arg };
  }
  throw new NetdevError(`unknown netdev kind ${JSON.stringify(kind)} (dgram, user or tap:<ifname>)`, { netdev: value });
}

/**
 * The device stub's netdev for the host's options: `netdev` wins; `wire` (the older way to give
 * the dgram ports) only with dgram. Checks what can be checked before QEMU starts, so a mistake
 * is one clear error rather than QEMU's exit status.
 */
export async function stubNetdev(netdev: HostNetdev | undefined, wire: { qemuPort?: number; peerPort?: number } | undefined, qemuBinary: string): Promise<NetdevConfig> {
  const ports = (w: { qemuPort?: number; peerPort?: number } | undefined) => ({
    ...(w?.qemuPort ? { qemuPort: w.qemuPort } : {}),
    ...(w?.peerPort ? { peerPort: w.peerPort } : {}),
  });
  const n = netdev ?? { kind: 'dgram' };
  if (wire && n.kind !== 'dgram') throw new NetdevError(`wire ports are for the dgram netdev, not ${n.kind}`, { netdev: n.kind, wire });
  switch (n.kind) {
    case 'dgram':
      return { kind: 'dgram', ...ports(wire), ...ports(n) };
    case 'user': {
      await requireNetdevBackend(qemuBinary, 'user');
      const restrict = n.restrict ?? true;
      const options = [...(n.options ?? [])];
      if (options.some((o) => o.startsWith('restrict='))) throw new NetdevError("give restrict as the user netdev's restrict field, not as an option", { options });
      return { kind: 'user', options: [`restrict=${restrict ? 'on' : 'off'}`, ...options] };
    }
    case 'tap':
      requireTap(n.ifname);
      return { kind: 'tap', ifname: n.ifname };
    default:
      throw new NetdevError(`unknown netdev kind ${JSON.stringify((n as { kind: unknown }).kind)} (dgram, user or tap)`, { netdev: n });
  }
}

/** IFF_TAP in /sys/class/net/<if>/tun_flags (IFF_TUN is 1). */
const IFF_TAP = 0x0002;

function requireTap(ifname: string): void {
  if (typeof ifname !== 'string' || !/^[A-Za-z0-9_.-]{1,15}$/.test(ifname)) {
    throw new NetdevError(`bad tap interface name ${JSON.stringify(ifname)}`, { ifname });
  }
  const dir = `/sys/class/net/${ifname}`;
  if (!existsSync(dir)) {
    throw new NetdevError(`tap interface ${ifname} does not exist (create it first, e.g. \`ip tuntap add dev ${ifname} mode tap\`)`, { ifname });
  }
  const flags = existsSync(`${dir}/tun_flags`) ? Number.parseInt(readFileSync(`${dir}/tun_flags`, 'utf8').trim(), 16) : undefined;
  if (flags === undefined || (flags & IFF_TAP) === 0) {
    throw new NetdevError(`${ifname} is not a tap interface${flags === undefined ? '' : ' (it is a tun)'}`, { ifname, tunFlags: flags });
  }
}

const backends = new Map<string, Promise<string[]>>();

/** `qemu -netdev help` lists the backends this build has (Debian's has user; a build without libslirp does not). */
async function requireNetdevBackend(qemuBinary: string, backend: string): Promise<void> {
  let listed = backends.get(qemuBinary);
  if (!listed) {
    listed = execa(qemuBinary, ['-netdev', 'help'], { reject: false, timeout: 10_000 }).then((r) =>
      String(r.stdout)
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => /^[a-z][a-z0-9-]*$/.test(l)),
    );
    backends.set(qemuBinary, listed);
  }
  const names = await listed;
  if (!names.includes(backend)) {
    const why = backend === 'user' ? ': it was built without slirp' : '';
    throw new NetdevError(`${qemuBinary} has no ${backend} netdev${why} (its -netdev help lists: ${names.join(', ') || 'nothing'})`, { qemuBinary, backend, available: names });
  }
}

/** What the wire is, in one line (status and `dirql up`'s report). */
export function describeNetdev(n: ResolvedNetdev): string {
  switch (n.kind) {
    case 'dgram':
      return `QEMU udp ${WIRE_HOST}:${n.qemuPort} <-> peer ${WIRE_HOST}:${n.peerPort}`;
    case 'user':
      return `QEMU user network (slirp${n.options.length ? `, ${n.options.join(',')}` : ''})`;
    case 'tap':
      return `tap ${n.ifname}`;
  }
}
