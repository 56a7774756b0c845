import { Command, InvalidArgumentError, Option } from 'commander';
import type { PciNicModel } from '../platform/nic-model.ts';
import { conventions, EXIT_FAILED, EXIT_OK, integer, udpPort } from './usage.ts';

interface QemuFlags {
  listen: string;
  device: string;
  mitigation: boolean;
  qemuPort?: number;
  peerPort?: number;
  mac?: string;
  memory?: number;
}

function mac(value: string): string {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(value)) throw new InvalidArgumentError('It must look like 52:54:00:12:34:56.');
  return value.toLowerCase();
}

/**
 * `dirql qemu --listen DIR`: QEMU as a service of its own (qemu/launcher.ts) for hosts started
 * with `dirql up --attach DIR`. One QEMU at a time; each host that goes away gets its QEMU stopped
 * and a fresh one started. Runs until SIGINT/SIGTERM, then stops QEMU and removes its files.
 */
export function qemuCommand(): Command {
  const cmd = conventions(new Command('qemu'), 'dirql qemu')
    .description("run QEMU's NIC for hosts that attach to it (dirql up --attach DIR): a fresh QEMU for every host, until Ctrl-C")
    .addOption(
      new Option('--listen <dir>', 'the shared directory: ready file, lease socket, qtest and QMP sockets, guest RAM (put it on tmpfs)')
        .env('DIRQL_QEMU_DIR')
        .makeOptionMandatory(),
    )
    .option('--device <model>', 'the NIC QEMU emulates, by its -device name (default e1000)', 'e1000')
    .option('--no-mitigation', 'QEMU e1000 interrupt mitigation off')
    .addOption(new Option('--qemu-port <port>', "QEMU's UDP port (default: a free one, kept for every QEMU)").env('DIRQL_WIRE_QEMU_PORT').argParser(udpPort))
    .addOption(new Option('--peer-port <port>', 'UDP port of the wire peer (QEMU sends there)').env('DIRQL_WIRE_PEER_PORT').argParser(udpPort))
    .option('--mac <mac>', "the NIC's MAC (default 52:54:00:12:34:56)", mac)
    .option('--memory <MiB>', 'guest RAM (default 64)', integer(2, 4096))
    .addHelpText('after', '\nExit status: 0 stopped by a signal, 1 QEMU could not be started, 2 usage.');
  cmd.action(async (flags: QemuFlags) => {
    const [{ QemuLauncher }, { checkedQemuBinary }, { e1000Device }, { resolveNicModel }] = await Promise.all([
      import('../../qemu/launcher.ts'),
      import('../../qemu/qemu-binary.ts'),
      import('../drivers/e1000/device.ts'),
      import('../host/nic-models.ts'),
    ]);
    const device = ((): PciNicModel => {
      try {
        return flags.device === 'e1000' ? e1000Device({ mitigation: flags.mitigation }) : resolveNicModel(flags.device);
      } catch (err) {
        return cmd.error(`error: option '--device <model>' argument '${flags.device}' is invalid. ${(err as Error).message}`, { exitCode: 2, code: 'dirql.usage' });
      }
    })();
    const launcher = await QemuLauncher.start({
      dir: flags.listen,
      qemuBinary: checkedQemuBinary(undefined),
      nic: { model: device.qemuModel, ...(device.qemuProperties ? { properties: device.qemuProperties } : {}) },
      netdev: { kind: 'dgram', ...(flags.qemuPort ? { qemuPort: flags.qemuPort } : {}), ...(flags.peerPort ? { peerPort: flags.peerPort } : {}) },
      ...(flags.mac ? { mac: flags.mac } : {}),
      ...(flags.memory ? { memoryMiB: flags.memory } : {}),
    });
    const out = (line: string) => process.stdout.write(`dirql qemu: ${line}\n`);
    const describe = () => {
      const o = launcher.offer;
      const n = o?.netdev;
      return o
        ? `QEMU ${o.generation} (pid ${o.qemuPid}, ${o.nic.model}${n?.kind === 'dgram' ? `, UDP ${n.qemuPort} <-> peer ${n.peerPort}` : ''}) waits for a host in ${launcher.dir}`
        : '';
    };
    out(describe());
    launcher.on('ready', () => out(describe()));
    launcher.on('attached', (a) => out(`host pid ${a.hostPid} attached to QEMU ${a.generation}`));
    launcher.on('released', (a) => out(`host pid ${a.hostPid} went away: QEMU ${a.generation} stops, a fresh one starts`));
    launcher.on('qemu-exit', (e) => out(`QEMU ${e.generation} exited on its own (${e.signal ?? `exit code ${e.exitCode}`})`));
    process.exitCode = await new Promise<number>((resolve) => {
      const stop = (why: string) => {
        out(`${why}, stopping`);
        void launcher.stop().then(() => resolve(EXIT_OK));
      };
      process.once('SIGINT', () => stop('interrupted'));
      process.once('SIGTERM', () => stop('terminated'));
      launcher.once('failed', (err) => {
        process.stderr.write(`dirql qemu: ${err.message}\n`);
        resolve(EXIT_FAILED);
      });
    });
  });
  return cmd;
}
