import { pathToFileURL } from 'node:url';
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
  ratioClient: number;
  ratioRegister: number;
}

/**
 * `readl` of STATUS, alternating rounds on one QEMU: the raw baseline client, our QtestClient,
 * and the register path a driver uses (MmioRegion over QtestClient). Medians of the rounds.
 */
export async function mmioBench(iterations = 2000, rounds = 5): Promise<MmioResult> {
  const machine = await startMachine({ netdev: { kind: 'user' } });
  try {
    const base = machine.nic.registers.base;
    let socket = await machine.qtest.release();
    const raw: number[] = [];
    const client: number[] = [];
    const region: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const rq = new RawQtest(socket);
      raw.push(await time(iterations, () => rq.readl(base + STATUS)));
      socket = rq.detach();
      const qc = new QtestClient(socket);
      client.push(await time(iterations, () => qc.readl(base + STATUS)));
      const mmio = new MmioRegion(qc, base, 0x20000);
      region.push(await time(iterations, () => mmio.read32(STATUS)));
      socket = await qc.release();
    }
    const rawUs = median(raw);
    return {
      iterations,
      rounds,
      rawUs: round(rawUs),
      qtestClientUs: round(median(client)),
      registerUs: round(median(region)),
      ratioClient: round(median(client) / rawUs, 3),
      ratioRegister: round(median(region) / rawUs, 3),
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
  console.log(JSON.stringify(await mmioBench()));
}
