import { afterEach, describe, expect, it } from 'vitest';
import { Irql, SpinLock } from '../../../src/kernel/index.ts';
import { kernelOnFakeLines, type KernelOnFakeLines } from '../../support/kernel-rig.ts';

let rigs: KernelOnFakeLines[] = [];
afterEach(async () => {
  for (const r of rigs) await r.cleanup();
  rigs = [];
});

describe('several kernels in one process (one AsyncLocalStorage underneath)', () => {
  it('a routine of one kernel is not a routine of another: the other sees host code', async () => {
    const a = kernelOnFakeLines('dirql-apart-a-');
    const b = kernelOnFakeLines('dirql-apart-b-', { processors: 2 });
    rigs = [a, b];
    const seen = await a.kernel.runOnProcessor(0, Irql.DISPATCH_LEVEL, 'RoutineOfA', async () => {
      await Promise.resolve();
      return { a: a.kernel.current()?.name, b: b.kernel.current(), irqlA: a.kernel.currentIrql() };
    });
    expect(seen).toEqual({ a: 'RoutineOfA', b: undefined, irqlA: Irql.DISPATCH_LEVEL });
    expect(() => b.kernel.currentIrql()).toThrow(/must be called from a routine/);
  });

  it('routines of two kernels interleaved across awaits each keep their own processor and IRQL', async () => {
    const a = kernelOnFakeLines('dirql-apart-a-');
    const b = kernelOnFakeLines('dirql-apart-b-', { processors: 2 });
    rigs = [a, b];
    const tick = () => new Promise<void>((r) => setImmediate(r));
    const [ra, rb] = await Promise.all([
      a.kernel.runOnProcessor(0, Irql.PASSIVE_LEVEL, 'A', async () => {
        const out: string[] = [];
        for (let i = 0; i < 3; i++) {
          await a.kernel.wait(tick());
          out.push(`${a.kernel.currentProcessor()}@${a.kernel.currentIrql()} ${b.kernel.current() === undefined}`);
        }
        return out;
      }),
      b.kernel.runOnProcessor(1, Irql.DISPATCH_LEVEL, 'B', async () => {
        const out: string[] = [];
        for (let i = 0; i < 3; i++) {
          await tick();
          out.push(`${b.kernel.currentProcessor()}@${b.kernel.currentIrql()} ${a.kernel.current() === undefined}`);
        }
        return out;
      }),
    ]);
    expect(ra).toEqual(['0@0 true', '0@0 true', '0@0 true']);
    expect(rb).toEqual(['1@2 true', '1@2 true', '1@2 true']);
  });

  it('number their locks each from 1, so a lock id in a bug check does not depend on kernels made before', () => {
    const a = kernelOnFakeLines('dirql-apart-a-');
    const b = kernelOnFakeLines('dirql-apart-b-');
    rigs = [a, b];
    const idsOf = (k: KernelOnFakeLines['kernel']) => [new SpinLock(k).id, k.connectInterrupt({ line: 11, isr: () => false }).lock.id, new SpinLock(k).id];
    expect(idsOf(a.kernel)).toEqual([1, 2, 3]);
    expect(idsOf(b.kernel)).toEqual([1, 2, 3]);
  });
});
