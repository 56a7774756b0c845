/**
 * What `npm start` runs: the full stack — QEMU's e1000, the kernel model, the NDIS 6 facade with
 * the e1000 miniport and the upper edge — prints the MAC and the link, then halts and stops, or
 * with --hold stays up (link changes printed; with --control a socket for dirqlctl) until Ctrl-C.
 *
 *   npm start -- [--hold [--control]] [--framework ndis6] [--processors N] [--seed N] [--peer-port N]
 *                [--qemu-port N] [--mac 52:54:00:12:34:56] [--no-mitigation]
 */
import { parseArgs } from 'node:util';
import type { ControlServer } from '../control/index.ts';
import { isDeviceLostReport, type BugCheckReport } from '../kernel/index.ts';
import { startControl } from './control.ts';
import { DriverHost } from './driver-host.ts';
import { startEcho } from './echo.ts';
import type { FrameworkName } from './frameworks/index.ts';

const FRAMEWORKS: readonly FrameworkName[] = ['ndis6', 'ndis5', 'kmdf'];

const USAGE = `usage: npm start -- [options]
  --hold                stay up until Ctrl-C (also DIRQL_HOLD=1)
  --framework NAME      ndis6 (default), ndis5, kmdf
  --processors N        logical processors of the kernel model (default 1)
  --seed N              seed of the kernel's scheduling choices (default 1)
  --peer-port N         UDP port of the wire peer (QEMU sends there; also DIRQL_WIRE_PEER_PORT)
  --qemu-port N         QEMU's UDP port (also DIRQL_WIRE_QEMU_PORT)
  --mac MAC             the NIC's MAC (default 52:54:00:12:34:56)
  --no-mitigation       QEMU e1000 interrupt mitigation off
  --control             with --hold: serve the control socket for dirqlctl (also DIRQL_CONTROL=1)
  --echo                with --hold: send every received frame back unchanged, so a wire peer
                        (npm run peer) can check a full round trip (also DIRQL_ECHO=1)
  --help`;

function port(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 0xffff) throw new Error(`${name} must be a UDP port, got ${JSON.stringify(value)}`);
  return n;
}

function count(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer in ${min}..${max}, got ${JSON.stringify(value)}`);
  return n;
}

function report(host: DriverHost): void {
  const m = host.machine;
  const link = host.link;
  const route = m.nic.route;
  const hex = (n: number) => '0x' + n.toString(16);
  const w = m.wire;
  const lines = [
    `dirql: e1000 ${m.nic.bdf} driven by the ${host.framework} miniport  MAC ${host.mac}`,
    `  link ${host.linkUp ? 'up' : 'DOWN'}, ${link.speedMbps} Mb/s, ${link.fullDuplex ? 'full' : 'half'} duplex`,
    `  BAR0 ${hex(m.nic.registers.base)} (${m.nic.registers.size / 1024} KiB)` +
      (m.nic.ioBase !== undefined ? `  I/O ${hex(m.nic.ioBase)}` : '') +
      `  IRQ ${m.nic.irqLine} (INT${'ABCD'[route.pin - 1]} -> PIRQ${'ABCD'[route.pirq]})`,
    `  wire: QEMU udp 127.0.0.1:${w.qemuPort} <-> peer 127.0.0.1:${w.peerPort}`,
    `  kernel: ${host.kernel.processorCount} processor(s), seed ${host.kernel.seed}`,
    `  QEMU pid ${m.stub.pid}, first qtest reply after ${m.timings.firstReplyMs.toFixed(0)} ms, bring-up ${m.timings.bringUpMs.toFixed(0)} ms`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      hold: { type: 'boolean', default: false },
      framework: { type: 'string' },
      processors: { type: 'string' },
      seed: { type: 'string' },
      'peer-port': { type: 'string' },
      'qemu-port': { type: 'string' },
      mac: { type: 'string' },
      'no-mitigation': { type: 'boolean', default: false },
      control: { type: 'boolean', default: false },
      echo: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const framework = (values.framework ?? 'ndis6') as FrameworkName;
  if (!FRAMEWORKS.includes(framework)) throw new Error(`--framework must be one of ${FRAMEWORKS.join(', ')}`);
  const hold = values.hold || process.env.DIRQL_HOLD === '1' || process.env.DIRQL_HOLD === 'true';
  const peerPort = port(values['peer-port'] ?? process.env.DIRQL_WIRE_PEER_PORT, 'peer port');
  const qemuPort = port(values['qemu-port'] ?? process.env.DIRQL_WIRE_QEMU_PORT, 'QEMU port');

  const host = await DriverHost.start({
    framework,
    processors: count(values.processors, '--processors', 1, 64),
    seed: count(values.seed, '--seed', 0, 0xffffffff),
    wire: { ...(peerPort ? { peerPort } : {}), ...(qemuPort ? { qemuPort } : {}) },
    ...(values.mac ? { mac: values.mac } : {}),
    mitigation: !values['no-mitigation'],
  });
  let control: ControlServer | undefined;
  let stopping = false;
  const shutdown = (why: string, code = 0) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`dirql: ${why}, stopping\n`);
    (async () => {
      await control?.stop();
      await host.stop();
    })().then(
      () => process.exit(code),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('interrupted'));
  process.on('SIGTERM', () => shutdown('terminated'));
  // The host has already stopped itself (QEMU reaped, files removed): one line, then exit non-zero.
  const deviceGone = (line: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${line}\n`);
    (async () => {
      await control?.stop();
      await host.stop();
    })().then(
      () => process.exit(1),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  host.on('device-lost', (r: BugCheckReport) => deviceGone(`dirql: device lost: ${r.message}${r.files ? ` (report: ${r.files.text})` : ''}`));
  host.on('qemu-exit', () => {
    // Without a device-lost stop, the driver had bug-checked before QEMU went (its report was printed).
    const stop = host.kernel.stopped;
    if (stop && !isDeviceLostReport(stop.report)) deviceGone(`dirql: QEMU exited after the driver bug-checked (${stop.report.name})`);
  });
  host.on('bugcheck', (r: { name: string; message: string; files?: { text: string } }) => {
    console.error(`dirql: driver bug check ${r.name}: ${r.message}${r.files ? `\n  report: ${r.files.text}` : ''}`);
  });

  report(host);
  if (hold) {
    host.on('link', (e: { up: boolean; speed: number }) => process.stdout.write(`dirql: link ${e.up ? `up, ${e.speed / 1e6} Mb/s` : 'down'}\n`));
    // Opt-in: a host killed with SIGKILL cannot remove its socket (the next host sweeps it).
    if (values.control || process.env.DIRQL_CONTROL === '1') {
      control = await startControl(host);
      process.stdout.write(`dirql: control socket ${control.socketPath} (dirqlctl)\n`);
    }
    if (values.echo || process.env.DIRQL_ECHO === '1') {
      startEcho(host);
      process.stdout.write('dirql: echoing received frames back to the wire\n');
    }
    process.stdout.write('dirql: holding; Ctrl-C to stop\n');
    return;
  }
  await host.stop();
}

main().catch((err: unknown) => {
  console.error('dirql: start failed:', err instanceof Error ? err.message : err);
  if (err instanceof Error && 'context' in err) console.error((err as { context: unknown }).context);
  process.exit(1);
});
