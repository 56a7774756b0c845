import { pathToFileURL } from 'node:url';
import { e1000Device } from '../src/drivers/e1000/device.ts';
import { DeviceRegisters, Kernel } from '../src/kernel/index.ts';
import { startMachine } from '../src/platform/machine.ts';
import { MmioRegion } from '../src/platform/registers.ts';
import { QtestClient } from '../src/transport/qtest-client.ts';
import { RawQtest } from './baseline/raw-qtest.ts';
import { median, round } from './stats.ts';

const STATUS = 0x0008;

export interface MmioResult {
  iterations: number;
  rounds: number;
  rawUs: number;
  qtestClientUs: number;
  registerUs: number;
  driverHostUs: number;
  ratioClient: number;
  ratioRegister: number;
  ratioDriverHost: number;
}

/**
 * `readl` of STATUS, alternating rounds on one QEMU: the raw baseline client, our QtestClient,
 * the platform's MmioRegion over it, and what a driver routine pays (the kernel's
 * DeviceRegisters: a preemption point per access, run at PASSIVE by the kernel). Medians.
 *
 * Unpinned, a round trip costs what the scheduler's placement of this process and QEMU's main
 * thread costs (same CPU ~13 µs, a cross-CPU wake-up of an idle CPU 50–80 µs), and placement can
 * change between rounds: many short rounds, with the order of the four clients rotated each round,
 * spread that luck over all four instead of handing it to whichever ran first.
 */
export async function mmioBench(iterations = 600, rounds = 15): Promise<MmioResult> {
  const machine = await startMachine({ device: e1000Device(), netdev: { kind: 'user' } });
  try {
    const base = machine.nic.registers.base;
    let socket = await machine.qtest.release();
    const raw: number[] = [];
    const client: number[] = [];
    const region: number[] = [];
    const host: number[] = [];
    const measureRaw = async (): Promise<void> => {
      const rq = new RawQtest(socket);
      raw.push(await time(iterations, () => rq.readl(base + STATUS)));
      socket = rq.detach();
    };
    for (let r = 0; r < rounds; r++) {
      if (r % 2 === 0) await measureRaw();
      const qc = new QtestClient(socket);
      const mmio = new MmioRegion(qc, base, 0x20000);
      const kernel = new Kernel({ bugCheckDir: '/tmp' });
      const regs = new DeviceRegisters(kernel, mmio, { trace: false });
      const ours = [
        async () => client.push(await time(iterations, () => qc.readl(base + STATUS))),
        async () => region.push(await time(iterations, () => mmio.read32(STATUS))),
        async () => host.push(await kernel.runAtPassive('MmioBench', () => time(iterations, () => regs.read32(STATUS)))),
      ];
      for (let i = 0; i < ours.length; i++) await ours[(r + i) % ours.length]!();
      kernel.dispose();
      socket = await qc.release();
      if (r % 2 === 1) await measureRaw();
    }
    const rawUs = median(raw);
    return {
      iterations,
      rounds,
      rawUs: round(rawUs),
      qtestClientUs: round(median(client)),
      registerUs: round(median(region)),
      driverHostUs: round(median(host)),
      ratioClient: round(median(client) / rawUs, 3),
      ratioRegister: round(median(region) / rawUs, 3),
      ratioDriverHost: round(median(host) / rawUs, 3),
    };
  } finally {
    await machine.stop();
  }
}

async function time(n: number, op: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 200; i++) await op();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await op();
  return ((performance.now() - t0) * 1000) / n;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const quick = process.argv.includes('--quick');
  console.log(JSON.stringify(await mmioBench(quick ? 300 : 600, quick ? 4 : 15)));
}
