/**
 * What the lockset verifier costs (src/kernel/README.md, "Lockset verifier"): a register read and
 * a posted write through DeviceRegisters on a fake backend, at PASSIVE_LEVEL on one processor, with
 * the verifier off and in 'record' mode, and a read-modify-write of a field declared shared. Not
 * part of `npm run bench` (no QEMU, no timing target); run alone:
 *
 *   node --import tsx bench/lockset.ts [--iterations 200000] [--rounds 7] [--mode off|record|both]
 *
 * Measure 'off' alone (--mode off) for its true cost: in one process with 'record' the field
 * access site also sees accessor properties and V8 makes it polymorphic.
 */
import { parseArgs } from 'node:util';
import { DeviceRegisters, Kernel, type LocksetMode, type RegisterBackend } from '../src/kernel/index.ts';
import { median, round } from './stats.ts';

const backend: RegisterBackend = {
  read32: () => Promise.resolve(0x80080783),
  write32: () => undefined,
  flush: () => Promise.resolve(),
};
const name = (offset: number): string | undefined => (offset === 0x8 ? 'STATUS' : offset === 0x3818 ? 'TDT' : undefined);

interface Result {
  readUs: number;
  writeUs: number;
  fieldUs: number;
}

async function once(mode: LocksetMode, iterations: number): Promise<Result> {
  const kernel = new Kernel(mode === 'off' ? {} : { verifier: { lockset: mode } });
  const regs = new DeviceRegisters(kernel, backend, { name: 'nic', registerName: name, trace: false });
  const state = kernel.verifier.shared({ next: 0 }, 'RING', { fields: ['next'] });
  const r = await kernel.runAtPassive('Bench', async () => {
    let t = performance.now();
    for (let i = 0; i < iterations; i++) await regs.read32(0x8);
    const readUs = ((performance.now() - t) * 1000) / iterations;
    t = performance.now();
    for (let i = 0; i < iterations; i++) await regs.write32(0x3818, i);
    const writeUs = ((performance.now() - t) * 1000) / iterations;
    t = performance.now();
    for (let i = 0; i < iterations; i++) state.next = (state.next + 1) & 0xff;
    const fieldUs = ((performance.now() - t) * 1000) / iterations;
    return { readUs, writeUs, fieldUs };
  });
  kernel.dispose();
  return r;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      iterations: { type: 'string', default: '200000' },
      rounds: { type: 'string', default: '7' },
      mode: { type: 'string', default: 'both' },
    },
  });
  const iterations = Number(values.iterations);
  const rounds = Number(values.rounds);
  const modes = (values.mode === 'both' ? ['off', 'record'] : [values.mode]) as ('off' | 'record')[];
  const runs: Record<'off' | 'record', Result[]> = { off: [], record: [] };
  for (const m of modes) await once(m, iterations / 10);
  for (let i = 0; i < rounds; i++) for (const m of modes) runs[m].push(await once(m, iterations));
  const row = (mode: 'off' | 'record'): Record<string, number> => ({
    readUs: round(median(runs[mode].map((r) => r.readUs)), 3),
    writeUs: round(median(runs[mode].map((r) => r.writeUs)), 3),
    fieldUs: round(median(runs[mode].map((r) => r.fieldUs)), 4),
  });
  console.log(JSON.stringify({ iterations, rounds, ...Object.fromEntries(modes.map((m) => [m, row(m)])) }, null, 2));
}

await main();
