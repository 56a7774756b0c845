import { pathToFileURL } from 'node:url';
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
 */
export async function mmioBench(iterations = 2000, rounds = 5): Promise<MmioResult> {
  const machine = await startMachine({ netdev: { kind: 'user' } });
  try {
    const base = machine.nic.registers.base;
    let socket = await machine.qtest.release();
    const raw: number[] = [];
    const client: number[] = [];
    const region: number[] = [];
    const host: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const rq = new RawQtest(socket);
      raw.push(await time(iterations, () => rq.readl(base + STATUS)));
      socket = rq.detach();
      const qc = new QtestClient(socket);
      client.push(await time(iterations, () => qc.readl(base + STATUS)));
      const mmio = new MmioRegion(qc, base, 0x20000);
      region.push(await time(iterations, () => mmio.read32(STATUS)));
      const kernel = new Kernel({ bugCheckDir: '/tmp' });
      const regs = new DeviceRegisters(kernel, mmio, { trace: false });
      host.push(await kernel.runAtPassive('MmioBench', () => time(iterations, () => regs.read32(STATUS))));
      kernel.dispose();
      socket = await qc.release();
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
  console.log(JSON.stringify(await mmioBench(quick ? 500 : 2000, quick ? 3 : 5)));
}
