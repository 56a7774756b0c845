import { Command, InvalidArgumentError, Option } from 'commander';
import type { DriverHostOptions } from '../host/driver-host.ts';
import { NetdevError, parseNetdev, type HostNetdev } from '../host/netdev.ts';
import { integer, udpPort } from './usage.ts';

/** The flags that say how the stack is started, shared by `dirql up` and `dirql run`. */
export interface HostFlags {
  driver?: string;
  device?: string;
  framework?: string;
  processors?: number;
  seed?: number;
  peerPort?: number;
  qemuPort?: number;
  mac?: string;
  mitigation: boolean;
  /** --netdev dgram|user|tap:<ifname> */
  netdev?: HostNetdev;
  /** --trace [path]: true without a path. */
  trace?: string | boolean;
  /** --pcap [file]: true without a file (upper-edge.pcapng in the run directory). */
  pcap?: string | boolean;
  /** --record [file]: the session recorded for `dirql replay`; true without a file (session.rec in the run directory). */
  record?: string | boolean;
}

function mac(value: string): string {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(value)) throw new InvalidArgumentError('It must look like 52:54:00:12:34:56.');
  if (Number.parseInt(value.slice(0, 2), 16) & 1) throw new InvalidArgumentError('It is a multicast address (bit 0 of the first byte is set).');
  return value.toLowerCase();
}

function netdev(value: string): HostNetdev {
  try {
    return parseNetdev(value);
  } catch (err) {
    if (err instanceof NetdevError) throw new InvalidArgumentError(`${err.message}.`);
    throw err;
  }
}

export function addHostFlags(cmd: Command): Command {
  return cmd
    .option(
      '--record [file]',
      'record the session (qtest stream, IRQ edges, DMA reads, timers, host inputs) for `dirql replay <file>`: to <file>, default session.rec in the run directory; `--record on-failure` keeps it only when the run fails; also DIRQL_RECORD=<file>|on|on-failure',
    )
    .option('--driver <module>', 'your own driver: a module exporting framework, driverEntry and optionally device (see README "Your own driver")')
    .option('--device <model>', 'the NIC QEMU emulates, by its -device name: e1000 (default), e1000e, rtl8139, or any other QEMU PCI NIC')
    .option('--framework <name>', 'driver framework: ndis6 (default), ndis5, kmdf')
    .option('--processors <n>', 'logical processors of the kernel model (default 1)', integer(1, 64))
    .option('--seed <n>', "seed of the kernel's scheduling choices (default 1)", integer(0, 0xffffffff))
    .addOption(new Option('--peer-port <port>', 'UDP port of the wire peer (QEMU sends there)').env('DIRQL_WIRE_PEER_PORT').argParser(udpPort))
    .addOption(new Option('--qemu-port <port>', "QEMU's UDP port").env('DIRQL_WIRE_QEMU_PORT').argParser(udpPort))
    .option(
      '--netdev <kind>',
      "how the NIC reaches the outside: dgram (UDP to the wire peer, default), user (QEMU's slirp, restrict=on), tap:<ifname> (an existing tap device)",
      netdev,
    )
    .option('--mac <mac>', "the NIC's MAC (default 52:54:00:12:34:56)", mac)
    .option('--no-mitigation', 'QEMU e1000 interrupt mitigation off')
    .option(
      '--trace [path]',
      "record the run's timeline: <name>.perfetto-trace (ui.perfetto.dev) and <name>.html, written when the host stops into a directory (default: the run directory) or as the file given",
    )
    .option(
      '--pcap [file]',
      "capture the driver's upper edge (every frame it indicated up and every frame handed to it to send) as pcapng for Wireshark (default: upper-edge.pcapng in the run directory)",
    );
}

/**
 * The DriverHost options the flags given on the command line set (nothing for a flag left out, so
 * a scenario's or a config file's value stands). An unknown framework is a usage error.
 */
export async function hostOptionsFrom(cmd: Command, flags: HostFlags): Promise<DriverHostOptions> {
  const usage = (flag: string, value: string, why: string): never =>
    cmd.error(`error: option '${flag}' argument '${value}' is invalid. ${why}`, { exitCode: 2, code: 'dirql.usage' });
  if (flags.driver !== undefined) {
    const { loadDriverModule } = await import('../host/frameworks/driver-module.ts');
    try {
      await loadDriverModule(flags.driver);
    } catch (err) {
      usage('--driver <module>', flags.driver, (err as Error).message);
    }
  }
  if (flags.device !== undefined) {
    const { resolveNicModel } = await import('../host/nic-models.ts');
    try {
      resolveNicModel(flags.device);
    } catch (err) {
      usage('--device <model>', flags.device, (err as Error).message);
    }
  }
  if (flags.framework !== undefined && flags.driver === undefined) {
    const { loadFramework } = await import('../host/frameworks/index.ts');
    try {
      await loadFramework(flags.framework);
    } catch (err) {
      cmd.error(`error: option '--framework <name>' argument '${flags.framework}' is invalid. ${(err as Error).message}`, { exitCode: 2, code: 'dirql.usage' });
    }
  }
  const wire = { ...(flags.peerPort ? { peerPort: flags.peerPort } : {}), ...(flags.qemuPort ? { qemuPort: flags.qemuPort } : {}) };
  const notDgram = flags.netdev !== undefined && flags.netdev.kind !== 'dgram';
  if (notDgram) {
    // Ports from the environment are for whichever run uses a dgram wire; on the command line they contradict --netdev.
    for (const [key, flag] of [
      ['peerPort', '--peer-port'],
      ['qemuPort', '--qemu-port'],
    ] as const) {
      if (cmd.getOptionValueSource(key) === 'cli')
        cmd.error(`error: option '${flag} <port>' is for the dgram netdev, not '--netdev ${flags.netdev!.kind}'`, { exitCode: 2, code: 'dirql.usage' });
    }
  }
  return {
    ...(flags.driver !== undefined ? { driver: flags.driver } : {}),
    ...(flags.device !== undefined ? { device: flags.device } : {}),
    ...(flags.netdev !== undefined ? { netdev: flags.netdev } : {}),
    ...(flags.framework !== undefined ? { framework: flags.framework } : {}),
    ...(flags.processors !== undefined ? { processors: flags.processors } : {}),
    ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
    ...(Object.keys(wire).length > 0 && !notDgram ? { wire } : {}),
    ...(flags.mac ? { mac: flags.mac } : {}),
    ...(cmd.getOptionValueSource('mitigation') === 'cli' ? { mitigation: flags.mitigation } : {}),
    ...(flags.trace !== undefined && flags.trace !== false ? { trace: flags.trace === true ? true : { path: flags.trace } } : {}),
  };
}
