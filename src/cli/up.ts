import { Command, InvalidArgumentError, Option } from 'commander';
import { addConfigFlag, configuredRun, overrideConfig } from './config-options.ts';
import { addHostFlags, hostOptionsFrom, type HostFlags } from './host-flags.ts';
import { openRun } from './run-dir.ts';
import { conventions } from './usage.ts';
import { DEFAULT_RESPONDER_IP, parseIpv4WithPrefix, ResponderConfigError, type ResponderAddress } from '../host/responder.ts';

function ipv4(value: string): ResponderAddress | 'dhcp' {
  if (value === 'dhcp') return 'dhcp';
  try {
    return parseIpv4WithPrefix(value);
  } catch (err) {
    if (err instanceof ResponderConfigError) throw new InvalidArgumentError(`${err.message}.`);
    throw err;
  }
}

interface UpFlags extends HostFlags {
  hold?: boolean;
  inspect?: string | boolean;
  control?: boolean;
  echo?: boolean;
  config?: string;
  responder: boolean;
  ip: ResponderAddress | 'dhcp';
  status?: boolean;
  live: boolean;
  attach?: string;
  readyFile?: string;
}

const envOn = (name: string) => process.env[name] === '1' || process.env[name] === 'true';

/** The live status line on stderr: in place on a terminal (unless --no-live), one line per interval with --status. */
function statusView(flags: UpFlags): { status?: { mode: 'tty' | 'lines'; write: (text: string) => void } } {
  const write = (text: string) => process.stderr.write(text);
  if (process.stderr.isTTY && flags.live) return { status: { mode: 'tty', write } };
  if (flags.status) return { status: { mode: 'lines', write } };
  return {};
}

/** `dirql up`: the full stack on the embedded default (QEMU's e1000 as a child, the wire peer's end in process). */
export function upCommand(): Command {
  const cmd = conventions(new Command('up'), 'dirql up')
    .description("start the full stack (QEMU's NIC, the kernel model, the framework facade and the driver), print what came up, then stop, or stay up with --hold")
    .option('--hold', 'stay up until Ctrl-C (also DIRQL_HOLD=1)');
  addConfigFlag(addHostFlags(cmd))
    .option('--control', 'with --hold: serve the control socket for `dirql ctl` (also DIRQL_CONTROL=1)')
    .option('--echo', 'with --hold: send every received frame back unchanged, so a wire peer (`dirql peer`) can check a round trip (also DIRQL_ECHO=1)')
    .option(
      '--ip <address[/prefix]|dhcp>',
      "with --hold: the IPv4 address the responder answers ARP and ICMP echo (ping) for; 'dhcp' asks a DHCP server on the wire (QEMU's user network serves one)",
      ipv4,
      parseIpv4WithPrefix(DEFAULT_RESPONDER_IP),
    )
    .option('--no-responder', 'with --hold: no ARP/ICMP echo responder on the upper edge (--echo turns it off too: it answers every frame)')
    .option('--status', 'with --hold off a terminal: print the status line (link, frames/s, ISRs/s, DPCs/s, drops) once per interval; on a terminal it is shown in place anyway')
    .option('--no-live', 'with --hold on a terminal: no status line updating in place')
    .option(
      '--inspect [host:port]',
      'open the Node inspector (default 127.0.0.1:9229) before the driver starts, with the `dirql` debugger extensions on globalThis; see src/debugger/README.md',
    )
    .addOption(
      new Option('--attach <dir>', "attach to the QEMU a launcher runs in <dir> (`dirql qemu --listen <dir>`) instead of starting one; its wire and MAC are the launcher's").env(
        'DIRQL_ATTACH',
      ),
    )
    .addOption(
      new Option('--ready-file <path>', 'with --hold: create <path> once the driver is up, remove it when the host stops (a healthcheck can `test -f` it)').env('DIRQL_READY_FILE'),
    )
    .addHelpText(
      'after',
      '\nDIRQL_INSPECT=1 does what --inspect does, at DIRQL_INSPECT_ADDRESS (default 127.0.0.1:9229).\nFlags override dirql.config.{ts,js,json} (see README "Your own driver").\nOutputs (bug check reports, --pcap, --trace, run.json) go to <outputDir>/runs/<UTC time>-<pid>/, outputDir from the config, default ./dirql-out.\nExit status: 0 the stack came up (and stopped cleanly), 1 it failed or the device was lost, 2 usage (a bad flag or config key, no QEMU binary).',
    );
  cmd.action(async (flags: UpFlags) => {
    // First: the config's log level must be set before any logger exists.
    const configured = await configuredRun('dirql up', flags.config);
    const hold = flags.hold === true || envOn('DIRQL_HOLD');
    const control = flags.control === true || envOn('DIRQL_CONTROL');
    const echo = flags.echo === true || envOn('DIRQL_ECHO');
    // Without --hold the host stops before a socket or an echo could serve anyone: say so.
    const needsHold = [
      { on: control, flag: '--control', fromEnv: !flags.control ? 'DIRQL_CONTROL' : undefined },
      { on: echo, flag: '--echo', fromEnv: !flags.echo ? 'DIRQL_ECHO' : undefined },
    ];
    for (const n of needsHold) {
      if (!n.on || hold) continue;
      const via = n.fromEnv ? ` (set by ${n.fromEnv}=1)` : '';
      cmd.error(`error: option '${n.flag}'${via} needs '--hold': without it the host stops before anything could use it`, { exitCode: 2, code: 'dirql.usage' });
    }
    const inspectFromEnv = flags.inspect === undefined && envOn('DIRQL_INSPECT') ? (process.env.DIRQL_INSPECT_ADDRESS ?? true) : undefined;
    const inspect = flags.inspect ?? inspectFromEnv;
    if (inspect !== undefined) {
      const { openInspector } = await import('../debugger/open.ts');
      const url = openInspector(typeof inspect === 'string' ? inspect : undefined, (m) =>
        cmd.error(`error: option '--inspect'${inspectFromEnv !== undefined ? ' (set by DIRQL_INSPECT=1)' : ''}: ${m}`, { exitCode: 2, code: 'dirql.usage' }),
      );
      process.stderr.write(`inspector: ${url} (attach a debugger: see src/debugger/README.md)\n`);
    }
    const options = await overrideConfig(configured.host, await hostOptionsFrom(cmd, flags));
    const { dir, host } = openRun('dirql up', configured, flags.attach !== undefined ? { ...options, attach: flags.attach } : options, flags.pcap, flags.record);
    const { runUp } = await import('./up-session.ts');
    process.exitCode = await runUp({
      host,
      runDir: dir,
      hold,
      control,
      echo,
      ...(flags.readyFile !== undefined && hold ? { readyFile: flags.readyFile } : {}),
      // The echo reflects every frame, ARP and echo requests included: two answers would be one too many.
      ...(flags.responder && !echo ? { responder: flags.ip } : {}),
      ...statusView(flags),
      out: (line) => process.stdout.write(line + '\n'),
      err: (line) => process.stderr.write(line + '\n'),
    });
  });
  return cmd;
}
