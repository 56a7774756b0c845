import { DeviceStubConfigError } from './errors.ts';

/** How the e1000's netdev reaches the outside. */
export type NetdevConfig =
  /** UDP datagrams between QEMU (qemuPort) and a wire peer (peerPort) on 127.0.0.1; ports default to free ones. */
  | { kind: 'dgram'; qemuPort?: number; peerPort?: number }
  /** QEMU's user-mode network (slirp); `options` are appended verbatim, e.g. `hostfwd=udp::5555-:5555`. */
  | { kind: 'user'; options?: string[] }
  /** A tap interface that already exists (no helper scripts are run). */
  | { kind: 'tap'; ifname: string };

export interface DeviceStubConfig {
  /** Machine type; only `pc` (i440FX + PIIX3) is brought up by the platform code. */
  machine?: 'pc';
  /** Guest RAM in MiB (default 64). */
  memoryMiB?: number;
  /** The e1000's MAC (default 52:54:00:12:34:56). */
  mac?: string;
  netdev?: NetdevConfig;
  /** e1000 interrupt mitigation (QEMU's default: on). Off makes every interrupt edge immediate. */
  mitigation?: boolean;
  /** Back guest RAM with a host-created /dev/shm file for direct DMA access (default true). */
  sharedRam?: boolean;
  /** Appended to QEMU's command line as is. */
  extraArgs?: string[];
  qemuBinary?: string;
  /** Limit for QEMU to connect and answer the first qtest command (default 10 s). */
  startTimeoutMs?: number;
  /** After SIGTERM, how long `stop()` waits before SIGKILL (default 2 s). */
  stopGraceMs?: number;
  /** Passed to the QtestClient (default 5 s). */
  qtestCommandTimeoutMs?: number;
}

export type ResolvedNetdev =
  | { kind: 'dgram'; qemuPort: number; peerPort: number }
  | { kind: 'user'; options: string[] }
  | { kind: 'tap'; ifname: string };

export interface ResolvedStubConfig {
  machine: 'pc';
  memoryMiB: number;
  mac: string;
  netdev: ResolvedNetdev;
  mitigation: boolean;
  sharedRam: boolean;
  extraArgs: string[];
  qemuBinary: string;
  startTimeoutMs: number;
  stopGraceMs: number;
  qtestCommandTimeoutMs: number;
}

/** Files the stub creates before QEMU starts. */
export interface StubPaths {
  firmware: string;
  qtestSocket: string;
  qmpSocket: string;
  /** The /dev/shm guest RAM file, when RAM is shared. */
  ramFile?: string;
}

export const DEFAULT_MAC = '52:54:00:12:34:56';
export const NETDEV_ID = 'net0';
export const NIC_ID = 'nic0';
export const WIRE_HOST = '127.0.0.1';

/** Fills in defaults and checks values; the dgram ports stay open until the caller picks them. */
export function validateStubConfig(cfg: DeviceStubConfig): Omit<ResolvedStubConfig, 'netdev'> & { netdev: NetdevConfig } {
  const memoryMiB = cfg.memoryMiB ?? 64;
  if (!Number.isInteger(memoryMiB) || memoryMiB < 2 || memoryMiB > 3072) {
    throw new DeviceStubConfigError(`memoryMiB must be an integer in 2..3072, got ${memoryMiB}`, { memoryMiB });
  }
  const mac = (cfg.mac ?? DEFAULT_MAC).toLowerCase();
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(mac)) {
    throw new DeviceStubConfigError(`MAC must look like 52:54:00:12:34:56, got ${JSON.stringify(cfg.mac)}`, { mac: cfg.mac });
  }
  if (Number.parseInt(mac.slice(0, 2), 16) & 1) {
    throw new DeviceStubConfigError(`MAC ${mac} is a multicast address`, { mac });
  }
  const netdev = cfg.netdev ?? { kind: 'dgram' };
  if (netdev.kind === 'dgram') {
    for (const [name, port] of [['qemuPort', netdev.qemuPort], ['peerPort', netdev.peerPort]] as const) {
      if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 0xffff)) {
        throw new DeviceStubConfigError(`netdev ${name} must be a UDP port, got ${port}`, { [name]: port });
      }
    }
  } else if (netdev.kind === 'tap') {
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(netdev.ifname)) {
      throw new DeviceStubConfigError(`bad tap interface name ${JSON.stringify(netdev.ifname)}`, { ifname: netdev.ifname });
    }
  } else if (netdev.kind === 'user') {
    for (const o of netdev.options ?? []) {
      if (/[\s]/.test(o) || o.length === 0) {
        throw new DeviceStubConfigError(`bad user netdev option ${JSON.stringify(o)}`, { option: o });
      }
    }
  } else {
    throw new DeviceStubConfigError(`unknown netdev kind ${JSON.stringify((netdev as { kind: unknown }).kind)}`, {});
  }
  const machine = cfg.machine ?? 'pc';
  if (machine !== 'pc') throw new DeviceStubConfigError(`machine ${JSON.stringify(machine)} is not supported (only pc)`, { machine });
  return {
    machine,
    memoryMiB,
    mac,
    netdev,
    mitigation: cfg.mitigation ?? true,
    sharedRam: cfg.sharedRam ?? true,
    extraArgs: [...(cfg.extraArgs ?? [])],
    qemuBinary: cfg.qemuBinary ?? 'qemu-system-x86_64',
    startTimeoutMs: cfg.startTimeoutMs ?? 10_000,
    stopGraceMs: cfg.stopGraceMs ?? 2_000,
    qtestCommandTimeoutMs: cfg.qtestCommandTimeoutMs ?? 5_000,
  };
}

/** QEMU's option parser ends a value at a comma; a doubled comma is a literal one. */
function optValue(value: string): string {
  return value.replaceAll(',', ',,');
}

function netdevArg(n: ResolvedNetdev): string {
  switch (n.kind) {
    case 'dgram':
      return [
        `dgram,id=${NETDEV_ID}`,
        `local.type=inet,local.host=${WIRE_HOST},local.port=${n.qemuPort}`,
        `remote.type=inet,remote.host=${WIRE_HOST},remote.port=${n.peerPort}`,
      ].join(',');
    case 'user':
      return [`user,id=${NETDEV_ID}`, ...n.options].join(',');
    case 'tap':
      return `tap,id=${NETDEV_ID},ifname=${n.ifname},script=no,downscript=no`;
  }
}

/**
 * QEMU's argument list (without the binary). The vCPU runs the halting firmware under TCG
 * (Debian's QEMU has no qtest accelerator); `-nodefaults` and `romfile=` keep every other
 * device and option ROM away; `-qtest-log none` stops QEMU echoing each command to stderr.
 * QEMU connects to both unix sockets as a client: the host listens on them first.
 */
export function buildQemuArgs(cfg: ResolvedStubConfig, paths: StubPaths, name = 'dirql'): string[] {
  const mem = `${cfg.memoryMiB}M`;
  const args: string[] = ['-name', optValue(name)];
  if (cfg.sharedRam) {
    if (!paths.ramFile) throw new DeviceStubConfigError('sharedRam needs a RAM file path', {});
    args.push(
      '-machine', `${cfg.machine},memory-backend=ram0`,
      '-object', `memory-backend-file,id=ram0,size=${mem},mem-path=${optValue(paths.ramFile)},share=on`,
    );
  } else {
    args.push('-machine', cfg.machine);
  }
  args.push(
    '-accel', 'tcg',
    '-m', mem,
    '-bios', paths.firmware,
    '-nodefaults', '-no-user-config', '-display', 'none',
    '-qtest', `unix:${paths.qtestSocket}`, '-qtest-log', 'none',
    '-chardev', `socket,id=qmp0,path=${optValue(paths.qmpSocket)}`, '-mon', 'chardev=qmp0,mode=control',
    '-netdev', netdevArg(cfg.netdev),
    '-device', `e1000,netdev=${NETDEV_ID},id=${NIC_ID},mac=${cfg.mac},romfile=,mitigation=${cfg.mitigation ? 'on' : 'off'}`,
    ...cfg.extraArgs,
  );
  return args;
}
