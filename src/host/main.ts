/**
 * What `npm start` runs for now: start the machine (QEMU + e1000 brought up), print what the
 * NIC looks like, then stop, or with --hold / DIRQL_HOLD=1 stay up until Ctrl-C.
 *
 *   npm start -- [--hold] [--peer-port N] [--qemu-port N] [--mac 52:54:00:12:34:56] [--no-mitigation]
 */
import { parseArgs } from 'node:util';
import { startMachine, type Machine } from '../platform/machine.ts';

const STATUS_FD = 1 << 0;
const STATUS_LU = 1 << 1;
const STATUS_TXOFF = 1 << 4;
const SPEEDS = ['10', '100', '1000', '1000'];

function port(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 0xffff) throw new Error(`${name} must be a UDP port, got ${JSON.stringify(value)}`);
  return n;
}

function describeStatus(status: number): string {
  const parts = [
    status & STATUS_LU ? 'link up' : 'link DOWN',
    `${SPEEDS[(status >>> 6) & 3]} Mb/s`,
    status & STATUS_FD ? 'full duplex' : 'half duplex',
  ];
  if (status & STATUS_TXOFF) parts.push('TX paused');
  return parts.join(', ');
}

async function report(m: Machine): Promise<void> {
  const status = await m.nic.registers.read32(0x0008);
  const hex = (n: number) => '0x' + n.toString(16);
  const route = m.nic.route;
  const w = m.stub.wire;
  const lines = [
    `dirql: e1000 ${m.nic.bdf}  MAC ${m.nic.mac}`,
    `  STATUS ${hex(status >>> 0)}: ${describeStatus(status)}`,
    `  BAR0 ${hex(m.nic.registers.base)} (${m.nic.registers.size / 1024} KiB)` +
      (m.nic.ioBase !== undefined ? `  I/O ${hex(m.nic.ioBase)}` : '') +
      `  IRQ ${m.nic.irqLine} (INT${'ABCD'[route.pin - 1]} -> PIRQ${'ABCD'[route.pirq]})`,
    w ? `  wire: QEMU udp 127.0.0.1:${w.qemuPort} <-> peer 127.0.0.1:${w.peerPort}` : `  netdev: ${m.stub.config.netdev.kind}`,
    `  QEMU pid ${m.stub.pid}, first qtest reply after ${m.timings.firstReplyMs.toFixed(0)} ms, bring-up ${m.timings.bringUpMs.toFixed(0)} ms`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      hold: { type: 'boolean', default: false },
      'peer-port': { type: 'string' },
      'qemu-port': { type: 'string' },
      mac: { type: 'string' },
      'no-mitigation': { type: 'boolean', default: false },
    },
  });
  const hold = values.hold || process.env.DIRQL_HOLD === '1' || process.env.DIRQL_HOLD === 'true';
  const peerPort = port(values['peer-port'] ?? process.env.DIRQL_WIRE_PEER_PORT, 'peer port');
  const qemuPort = port(values['qemu-port'] ?? process.env.DIRQL_WIRE_QEMU_PORT, 'QEMU port');

  const machine = await startMachine({
    netdev: { kind: 'dgram', ...(peerPort ? { peerPort } : {}), ...(qemuPort ? { qemuPort } : {}) },
    ...(values.mac ? { mac: values.mac } : {}),
    mitigation: !values['no-mitigation'],
  });
  let stopping = false;
  const shutdown = (why: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`dirql: ${why}, stopping\n`);
    machine.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('interrupted'));
  process.on('SIGTERM', () => shutdown('terminated'));
  machine.stub.on('exit', (exit) => {
    if (exit.expected) return;
    console.error(`dirql: QEMU exited unexpectedly (${exit.signal ?? `code ${exit.exitCode}`})\n${exit.stderr}`);
    process.exit(1);
  });

  await report(machine);
  if (hold) {
    process.stdout.write('dirql: holding; Ctrl-C to stop\n');
    return;
  }
  await machine.stop();
}

main().catch((err: unknown) => {
  console.error('dirql: start failed:', err instanceof Error ? err.message : err);
  if (err instanceof Error && 'context' in err) console.error((err as { context: unknown }).context);
  process.exit(1);
});
