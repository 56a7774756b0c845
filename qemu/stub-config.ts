import { DeviceStubConfigError } from './errors.ts';
import { freeUdpPort } from './free-port.ts';

/** How the NIC's netdev reaches the outside. */
export type NetdevConfig =
  /** UDP datagrams between QEMU (qemuPort) and a wire peer (peerPort) on 127.0.0.1; ports default to free ones. */
  | { kind: 'dgram'; qemuPort?: number; peerPort?: number }
  /** QEMU's user-mode network (slirp); `options` are appended verbatim, e.g. `hostfwd=udp::5555-:5555`. */
  | { kind: 'user'; options?: string[] }
  /** A tap interface that already exists (no helper scripts are run). */
  | { kind: 'tap'; ifname: string };

/** A QEMU property value: booleans are written `on`/`off`, as QEMU's own options are. */
export type QemuPropertyValue = string | number | boolean;

/**
 * The NIC QEMU emulates: `-device <model>,netdev=…,id=…,mac=…,romfile=,<properties>`. Which
 * model it is, and its properties, belong to the driver layer: the stub knows no particular NIC.
 */
export interface QemuNicConfig {
  /** QEMU's device model name (`qemu-system-x86_64 -device help` lists them). */
  model: string;
  /** The model's own properties, appended in order; netdev, id, mac and romfile are the stub's. */
  properties?: Readonly<Record<string, QemuPropertyValue>>;
}

export interface DeviceStubConfig {
  /** Machine type; only `pc` (i440FX + PIIX3) is brought up by the platform code. */
  machine?: 'pc';
  /** Guest RAM in MiB (default 64). */
  memoryMiB?: number;
  /** The NIC QEMU plays. */
  nic: QemuNicConfig;
  /** The NIC's MAC (default 52:54:00:12:34:56). */
  mac?: string;
  netdev?: NetdevConfig;
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

export type ResolvedNetdev = { kind: 'dgram'; qemuPort: number; peerPort: number } | { kind: 'user'; options: string[] } | { kind: 'tap'; ifname: string };

export interface ResolvedNic {
  model: string;
  /** `name=value` pairs as QEMU reads them (values not yet comma-escaped). */
  properties: readonly (readonly [name: string, value: string])[];
}

export interface ResolvedStubConfig {
  machine: 'pc';
  memoryMiB: number;
  nic: ResolvedNic;
  mac: string;
  netdev: ResolvedNetdev;
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
  /** QEMU listens on both sockets (a launcher's QEMU, which a host attaches to) instead of connecting to them. */
  serve?: boolean;
}

export const DEFAULT_MAC = '52:54:00:12:34:56';
export const NETDEV_ID = 'net0';
export const NIC_ID = 'nic0';
export const WIRE_HOST = '127.0.0.1';
/** `-device` properties the stub sets itself. */
const STUB_NIC_PROPERTIES = new Set(['netdev', 'id', 'mac', 'romfile']);
const QEMU_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Fills in defaults and checks values; the dgram ports stay open until the caller picks them. */
export function validateStubConfig(cfg: DeviceStubConfig): Omit<ResolvedStubConfig, 'netdev'> & { netdev: NetdevConfig } {
  const memoryMiB = cfg.memoryMiB ?? 64;
  if (!Number.isInteger(memoryMiB) || memoryMiB < 2 || memoryMiB > 3072) {
    throw new DeviceStubConfigError(`memoryMiB must be an integer in 2..3072, got ${memoryMiB}`, { memoryMiB });
  }
  const nic = validateNic(cfg.nic);
  const mac = (cfg.mac ?? DEFAULT_MAC).toLowerCase();
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(mac)) {
    throw new DeviceStubConfigError(`MAC must look like 52:54:00:12:34:56, got ${JSON.stringify(cfg.mac)}`, { mac: cfg.mac });
  }
  if (Number.parseInt(mac.slice(0, 2), 16) & 1) {
    throw new DeviceStubConfigError(`MAC ${mac} is a multicast address`, { mac });
  }
  const netdev = cfg.netdev ?? { kind: 'dgram' };
  if (netdev.kind === 'dgram') {
    for (const [name, port] of [
      ['qemuPort', netdev.qemuPort],
      ['peerPort', netdev.peerPort],
    ] as const) {
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
    nic,
    mac,
    netdev,
    sharedRam: cfg.sharedRam ?? true,
    extraArgs: [...(cfg.extraArgs ?? [])],
    qemuBinary: cfg.qemuBinary ?? 'qemu-system-x86_64',
    startTimeoutMs: cfg.startTimeoutMs ?? 10_000,
    stopGraceMs: cfg.stopGraceMs ?? 2_000,
    qtestCommandTimeoutMs: cfg.qtestCommandTimeoutMs ?? 5_000,
  };
}

function validateNic(nic: QemuNicConfig | undefined): ResolvedNic {
  if (!nic || typeof nic.model !== 'string' || !QEMU_NAME.test(nic.model)) {
    throw new DeviceStubConfigError(`the NIC needs a QEMU device model name, got ${JSON.stringify(nic?.model)}`, { model: nic?.model });
  }
  const properties: [string, string][] = [];
  for (const [name, value] of Object.entries(nic.properties ?? {})) {
    if (!QEMU_NAME.test(name)) {
      throw new DeviceStubConfigError(`bad ${nic.model} property name ${JSON.stringify(name)}`, { model: nic.model, property: name });
    }
    if (STUB_NIC_PROPERTIES.has(name)) {
      throw new DeviceStubConfigError(`${nic.model} property ${name} is set by the device stub`, { model: nic.model, property: name });
    }
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new DeviceStubConfigError(`${nic.model} property ${name} is ${value}`, { model: nic.model, property: name });
    }
    properties.push([name, typeof value === 'boolean' ? (value ? 'on' : 'off') : String(value)]);
  }
  return { model: nic.model, properties };
}

function deviceArg(cfg: ResolvedStubConfig): string {
  const own = cfg.nic.properties.map(([name, value]) => `${name}=${optValue(value)}`);
  return [cfg.nic.model, `netdev=${NETDEV_ID}`, `id=${NIC_ID}`, `mac=${cfg.mac}`, 'romfile=', ...own].join(',');
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
 * QEMU connects to both unix sockets as a client: the host listens on them first; with
 * `paths.serve` QEMU listens on them instead, without waiting for a client.
 */
export function buildQemuArgs(cfg: ResolvedStubConfig, paths: StubPaths, name = 'dirql'): string[] {
  const mem = `${cfg.memoryMiB}M`;
  const server = paths.serve ? ',server=on,wait=off' : '';
  const args: string[] = ['-name', optValue(name)];
  if (cfg.sharedRam) {
    if (!paths.ramFile) throw new DeviceStubConfigError('sharedRam needs a RAM file path', {});
    args.push('-machine', `${cfg.machine},memory-backend=ram0`, '-object', `memory-backend-file,id=ram0,size=${mem},mem-path=${optValue(paths.ramFile)},share=on`);
  } else {
    args.push('-machine', cfg.machine);
  }
  args.push(
    '-accel',
    'tcg',
    '-m',
    mem,
    '-bios',
    paths.firmware,
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-qtest',
    `unix:${paths.qtestSocket}${server}`,
    '-qtest-log',
    'none',
    '-chardev',
    `socket,id=qmp0,path=${optValue(paths.qmpSocket)}${server}`,
    '-mon',
    'chardev=qmp0,mode=control',
    '-netdev',
    netdevArg(cfg.netdev),
    '-device',
    deviceArg(cfg),
    ...cfg.extraArgs,
  );
  return args;
}

/**
 * The netdev QEMU is started with: dgram ports not given are free ones (two different ports). The
 * launcher keeps them for its whole life, so a traffic peer keeps using the same ones.
 */
export async function resolveNetdev(n: NetdevConfig): Promise<ResolvedNetdev> {
  if (n.kind === 'dgram') {
    const qemuPort = n.qemuPort ?? (await freeUdpPort());
    let peerPort = n.peerPort ?? (await freeUdpPort());
    while (peerPort === qemuPort) peerPort = await freeUdpPort();
    return { kind: 'dgram', qemuPort, peerPort };
  }
  if (n.kind === 'user') return { kind: 'user', options: [...(n.options ?? [])] };
  return { kind: 'tap', ifname: n.ifname };
}
