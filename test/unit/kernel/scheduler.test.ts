import { afterEach, describe, expect, it } from 'vitest';
import { DeviceRegisters, Dpc, Irql, SchedulerRandom, SpinLock } from '../../../src/kernel/index.ts';
import { ICR, makeRig, type Rig } from './fakes.ts';

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) await r.cleanup();
});

/** Two routines on two processors hammering registers, an interrupt with a DPC, a shared spin lock. */
async function interleaving(seed: number): Promise<string[]> {
  const rig = makeRig({ processors: 2, seed });
  rigs.push(rig);
  const { kernel, device } = rig;
  const regs = new DeviceRegisters(kernel, device);
  const lock = new SpinLock(kernel);
  const events: string[] = [];
  const dpc = new Dpc(async () => {
    events.push(`dpc@${kernel.currentProcessor()}`);
    await regs.read32(0x40);
  });
  kernel.connectInterrupt({
    line: 11,
    isr: async () => {
      if (!(await regs.read32(ICR))) return false;
      events.push(`isr@${kernel.currentProcessor()}`);
      await kernel.insertQueueDpc(dpc);
      return true;
    },
  });
  const worker = (tag: string, base: number) => async () => {
    for (let i = 0; i < 6; i++) {
      const v = await regs.read32(base);
      await regs.write32(base, v + 1);
      events.push(`${tag}${i}`);
      if (i === 2) device.raise(0x80);
      if (i === 4) {
        const old = await lock.acquire();
        events.push(`${tag} locked`);
        await regs.read32(base);
        await lock.release(old);
      }
    }
  };
  await Promise.all([kernel.runOnProcessor(0, Irql.PASSIVE_LEVEL, 'A', worker('a', 0x10)), kernel.runOnProcessor(1, Irql.PASSIVE_LEVEL, 'B', worker('b', 0x20))]);
  await kernel.quiesce();
  return [...events, '|', ...device.log];
}

describe('seeded scheduler', () => {
  it('the same seed and the same inputs give the same interleaving', async () => {
    const first = await interleaving(42);
    const second = await interleaving(42);
    expect(second).toEqual(first);
    expect(first.filter((e) => e.startsWith('isr@')).length).toBeGreaterThanOrEqual(1);
    expect(first.filter((e) => e.startsWith('dpc@')).length).toBeGreaterThanOrEqual(1);
  });

  it('different seeds explore different interleavings', async () => {
    const runs = new Set<string>();
    for (let seed = 1; seed <= 8; seed++) runs.add((await interleaving(seed)).join(' '));
    expect(runs.size).toBeGreaterThan(1);
  });

  it('with one processor no seeded choice is made', async () => {
    const rig = makeRig({ seed: 7 });
    rigs.push(rig);
    const regs = new DeviceRegisters(rig.kernel, rig.device);
    await rig.kernel.runAtPassive('r', async () => {
      for (let i = 0; i < 10; i++) await regs.read32(0);
    });
    expect(rig.kernel.scheduler.decisions).toBe(0);
  });

  it('SchedulerRandom gives the same sequence for the same seed and different ones for different seeds', () => {
    const seq = (s: number) =>
      Array.from(
        { length: 5 },
        (
          (r) => () =>
            r.next()
        )(new SchedulerRandom(s)),
      );
    expect(seq(3)).toEqual(seq(3));
    expect(seq(3)).not.toEqual(seq(4));
  });
});
